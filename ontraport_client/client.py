"""The Ontraport calls the site needs, on top of :mod:`ontraport_client.transport`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import requests

from .contact import Contact
from .contact_field import ContactField
from .errors import ConditionIgnoredError, NotFoundError, OntraportError, RateLimitedError, TransportError
from .pacing import Pacer
from .retry import RetryPolicy
from .tag import Tag
from .transport import Transport
from .webhook import WebhookSubscription, event_with_target

logger = logging.getLogger(__name__)

CONTACT_OBJECT_TYPE = 0
# Ontraport's default and largest "range": rows per list call and ids per contact fetch, so one call serves
# at most 50 contacts (the site fetches, imports and sends tags 50 contacts a call).
PAGE_SIZE = 50
# What every contact answer carries whatever the site maps: identity, names and tags. List calls ask for
# these (plus the caller's mapped fields) with listFields instead of whole records, which on accounts with
# hundreds of custom fields are many times larger (PHP SDK: listFields narrows every list answer).
CONTACT_FIELDS = ("id", "email", "firstname", "lastname", "contact_cat")
TAG_FIELDS = "tag_id,tag_name,object_type_id"
# The payload options of the site's subscriptions: the event carries the contact's id only, no personal
# data (the site fetches the contact anyway), so none sits in Ontraport's webhook log either.
SUBSCRIPTION_DATA = json.dumps({"format": "notify"}, separators=(",", ":"))


def _unexpected(what: str, data: Any) -> TransportError:
    return TransportError(f"{what}: unexpected data in the answer", body_excerpt=repr(data))


def _rows(data: Any, what: str) -> list[Mapping[str, Any]]:
    """A list call's ``data``: a list of objects. Some calls answer an empty result as ``{}`` or null."""
    if data is None or data == {}:
        return []
    if not isinstance(data, list) or not all(isinstance(row, Mapping) for row in data):
        raise _unexpected(what, data)
    return data


def _comma_list(numbers: Iterable[int]) -> str:
    return ",".join(str(number) for number in numbers)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _contact_tag(row: Mapping[str, Any]) -> bool:
    """Whether a tag-list row is a contact tag (``object_type_id`` 0)."""
    object_type = row.get("object_type_id")
    return object_type in (None, "") or str(object_type).strip() == str(CONTACT_OBJECT_TYPE)


class OntraportClient:
    """A thin client for Ontraport's REST API (https://api.ontraport.com/1/).

    One instance holds one ``requests.Session`` (connection reuse); it is safe to share between threads
    as long as the session is. ``calls_made`` counts HTTP requests actually sent, retries included.
    """

    def __init__(
        self,
        app_id: str,
        api_key: str,
        base_url: str = "https://api.ontraport.com/1/",
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        session: requests.Session | None = None,
        on_answer: Callable[[str, int | None], None] | None = None,
        contact_fields: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """``on_answer(what, status)`` is told of every request sent ("GET Contacts", 200; status None
        when no answer came), e.g. to count calls for metrics. ``contact_fields()`` names the fields a
        contact list answer must carry beyond :data:`CONTACT_FIELDS` (the site's mapped fields); it is
        asked at each call, so a mapping enabled meanwhile is fetched from the next call on."""
        self.app_id = app_id
        self._contact_fields = contact_fields
        self.base_url = base_url
        self._transport = Transport(
            app_id=app_id,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy(),
            pacer=pacer if pacer is not None else Pacer(),
            session=session if session is not None else requests.Session(),
            on_answer=on_answer,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(app_id={self.app_id!r}, base_url={self.base_url!r})"

    @property
    def calls_made(self) -> int:
        return self._transport.calls_made

    @property
    def pacer(self) -> Pacer:
        return self._transport.pacer

    @property
    def retry(self) -> RetryPolicy:
        return self._transport.retry

    def close(self) -> None:
        self._transport.session.close()

    def list_fields(self) -> str:
        """The ``listFields`` of contact list calls: :data:`CONTACT_FIELDS` and the caller's fields."""
        extra = self._contact_fields() if self._contact_fields is not None else ()
        return ",".join(dict.fromkeys([*CONTACT_FIELDS, *(str(name) for name in extra if name)]))

    # Contacts

    def get_contact(self, contact_id: int) -> Contact:
        """One contact with every field. Raises :class:`NotFoundError` when there is none."""
        data = self._transport.request("GET", "Contact", params={"id": contact_id})
        # Ontraport answers a missing contact with a 404; an empty ``data`` is read the same way in
        # case some account answers 200 with nothing (unverified).
        if not data:
            raise NotFoundError(f"GET Contact: no contact {contact_id}", status=200)
        if not isinstance(data, Mapping):
            raise _unexpected("GET Contact", data)
        return self._contact(data, "GET Contact")

    def get_contacts(self, ids: Iterable[int]) -> dict[int, Contact]:
        """The contacts among ``ids`` that exist, keyed by id, in as few calls as Ontraport allows
        (50 ids each). Duplicates are asked for once; ids Ontraport does not return are absent."""
        wanted = list(dict.fromkeys(int(contact_id) for contact_id in ids))
        contacts: dict[int, Contact] = {}
        for start in range(0, len(wanted), PAGE_SIZE):
            chunk = wanted[start : start + PAGE_SIZE]
            params: dict[str, str | int] = {
                "ids": _comma_list(chunk),
                "range": PAGE_SIZE,
                "listFields": self.list_fields(),
            }
            data = self._transport.request("GET", "Contacts", params=params)
            asked = set(chunk)
            for row in _rows(data, "GET Contacts"):
                try:
                    contact = Contact.from_api(row)
                except ValueError:
                    # One record without a usable id must not cost the others their answer: the id
                    # asked for is then simply absent, as for a contact that does not exist.
                    logger.warning("GET Contacts: skipped a record without a usable id")
                    continue
                # Should Ontraport ever ignore "ids", do not hand back contacts nobody asked for.
                if contact.id in asked:
                    contacts[contact.id] = contact
        return contacts

    def find_contact_ids_by_email(self, email: str) -> list[int]:
        """The ids of every contact with this e-mail address (Ontraport allows several), in one call:
        ``getByEmail&all=1`` answers ``{"ids": [...]}``. Ontraport's match folds case and accents (MySQL
        collation), so callers compare the contacts' e-mails themselves."""
        params: dict[str, str | int] = {"objectID": CONTACT_OBJECT_TYPE, "email": email, "all": 1}
        try:
            data = self._transport.request("GET", "object/getByEmail", params=params)
        except NotFoundError:
            return []  # documented for the call without "all"; read the same way here
        if not data:
            return []
        raw_ids = data.get("ids") if isinstance(data, Mapping) else None
        if raw_ids is None and isinstance(data, Mapping) and "id" in data:
            raw_ids = [data["id"]]  # an account answering the one-id shape despite "all" (unverified)
        if not isinstance(raw_ids, list):
            raise _unexpected("GET object/getByEmail", data)
        usable = [raw for raw in raw_ids if raw not in (None, "", "0", 0)]
        return sorted({self._id(raw, "GET object/getByEmail", data) for raw in usable})

    def update_contact(self, contact_id: int, fields: Mapping[str, str]) -> None:
        """Write ``fields`` (Ontraport field names → values) to the contact."""
        if "id" in fields:
            raise ValueError("pass the contact id as contact_id, not in fields")
        self._transport.request("PUT", "Contacts", json={"id": contact_id, **fields})

    def contact_save_or_update(self, fields: Mapping[str, str]) -> int:
        """Make a contact, or update the one with this e-mail (``POST /Contacts/saveorupdate``, matched by
        ``email``): returns its id. A new contact's answer is the whole record, an existing one's
        ``{"attrs": {...}}``. Matching on the e-mail makes a retry after a timeout find the contact the
        first try may have made, so it is sent again like an idempotent call (never a duplicate)."""
        if not fields.get("email"):
            raise ValueError("saveorupdate matches on the e-mail: fields must carry one")
        data = self._transport.request("POST", "Contacts/saveorupdate", json={"update_by": "email", **fields})
        row = data.get("attrs", data) if isinstance(data, Mapping) else None
        if not isinstance(row, Mapping) or "id" not in row:
            raise _unexpected("POST Contacts/saveorupdate", data)
        return self._id(row["id"], "POST Contacts/saveorupdate", row)

    def contact_fields(self) -> list[ContactField]:
        """Every contact field with its label, type and (for dropdowns and lists) options."""
        data = self._transport.request("GET", "Contacts/meta", params={"format": "byId"})
        what = "GET Contacts/meta"
        if not isinstance(data, Mapping):
            raise _unexpected(what, data)
        # byId answers {"0": {"name": "Contact", "fields": {...}}}; accept the unwrapped form too.
        section = data.get(str(CONTACT_OBJECT_TYPE), data)
        fields = section.get("fields") if isinstance(section, Mapping) else None
        if not isinstance(fields, Mapping):
            raise _unexpected(what, data)
        return [
            ContactField.from_api(str(key), meta) for key, meta in fields.items() if isinstance(meta, Mapping)
        ]

    # Tags

    def list_tags(self) -> list[Tag]:
        """Every contact tag of the account, reading pages of 50 until a short page.

        The list holds the tags of every object type (deals, custom objects); only ``object_type_id`` 0
        applies to contacts, as WP Fusion reads it. A row without the field is kept (older answers)."""
        tags: dict[int, Tag] = {}
        seen_before: set[int] = set()
        start = 0
        while True:
            params: dict[str, str | int] = {"start": start, "range": PAGE_SIZE, "listFields": TAG_FIELDS}
            rows = _rows(self._transport.request("GET", "Tags", params=params), "GET Tags")
            page = [self._tag(row, "GET Tags") for row in rows if _contact_tag(row)]
            seen = {self._tag(row, "GET Tags").id for row in rows}
            new = [tag for tag in page if tag.id not in tags]
            tags.update((tag.id, tag) for tag in new)
            if len(rows) < PAGE_SIZE:
                return list(tags.values())
            if seen <= seen_before:
                # A full page of tags already seen: "start" was ignored. Tag names are cosmetic (tags are
                # applied by id, whatever their names), so the list is kept as far as it could be read,
                # said in the log, rather than failing every webhook that meets a new tag.
                logger.warning("GET Tags: the page at start=%d repeats earlier rows; read in part", start)
                return list(tags.values())
            seen_before |= seen
            start += PAGE_SIZE

    def find_tag(self, name: str) -> Tag | None:
        """The contact tag named exactly ``name``, or ``None``: one call with a condition on the name."""
        condition = [{"field": {"field": "tag_name"}, "op": "=", "value": {"value": name}}]
        params: dict[str, str | int] = {
            "condition": _json(condition),
            "range": PAGE_SIZE,
            "listFields": TAG_FIELDS,
        }
        rows = _rows(self._transport.request("GET", "Tags", params=params), "GET Tags")
        # The condition's "=" folds case (MySQL): keep the exact name only.
        matches = [self._tag(row, "GET Tags") for row in rows if _contact_tag(row)]
        return next((tag for tag in matches if tag.name == name), None)

    def create_tag(self, name: str) -> Tag:
        """Create a contact tag. A POST is not idempotent: after a timeout or a 5xx the tag may have been
        made, so it is looked up by name before being sent again (never a duplicate tag)."""
        body = {"tag_name": name}
        try:
            data = self._transport.request("POST", "Tags", json=body, idempotent=False)
        except OntraportError as error:
            if not error.transient or isinstance(error, RateLimitedError):
                raise
            found = self.find_tag(name)
            if found is not None:
                return found
            data = self._transport.request("POST", "Tags", json=body, idempotent=False)
        if not isinstance(data, Mapping) or "tag_id" not in data:
            raise _unexpected("POST Tags", data)
        return Tag(id=self._tag(data, "POST Tags").id, name=str(data.get("tag_name") or name))

    def contacts_with_tag(self, tag_id: int) -> Iterator[int]:
        """Ids of the contacts holding the tag, fetched lazily 50 at a time."""
        seen: set[int] = set()
        start = 0
        while True:
            params: dict[str, str | int] = {
                "objectID": CONTACT_OBJECT_TYPE,
                "tag_id": tag_id,
                "range": PAGE_SIZE,
                "start": start,
                "listFields": "id",  # the ids only (WP Fusion asks the same of this call)
            }
            rows = _rows(self._transport.request("GET", "objects/tag", params=params), "GET objects/tag")
            new = 0
            for row in rows:
                contact_id = self._id(row.get("id", row.get("object_id")), "GET objects/tag", row)
                if contact_id not in seen:
                    seen.add(contact_id)
                    new += 1
                    yield contact_id
            if len(rows) < PAGE_SIZE:
                return
            if not new:
                raise TransportError(
                    f"GET objects/tag: the page at start={start} repeats earlier contacts (start ignored); "
                    "the tag's contacts cannot be read to their end"
                )
            start += PAGE_SIZE

    def contacts_with_tag_page(self, tag_id: int, *, after_id: int = 0) -> list[Contact]:
        """Up to 50 whole contacts holding the tag, with ids above ``after_id``, in id order.

        Bulk imports page with this: asking for "ids above the last one seen" rather than an offset
        keeps the order stable while contacts are tagged or untagged meanwhile (an offset would skip a
        contact when one before it loses the tag). ``/objects/tag`` takes the same ``condition``, ``sort``
        and ``sortDir`` as ``/objects`` (PHP SDK), but whether every account honours the condition there
        is unverified: a row at or below ``after_id`` proves this one did not, and raises
        :class:`ConditionIgnoredError` (the caller pages by ``start`` instead) rather than dropping the
        repeats and taking the empty rest for the end.
        """
        condition = [{"field": {"field": "id"}, "op": ">", "value": {"value": int(after_id)}}]
        contacts = self._tag_page(tag_id, start=0, condition=condition)
        if any(contact.id <= after_id for contact in contacts):
            raise ConditionIgnoredError(
                f"GET objects/tag: contacts at or below id {after_id} came back although the condition "
                "asked for ids above it (the account ignores condition here)"
            )
        return sorted(contacts, key=lambda contact: contact.id)

    def contacts_with_tag_from(self, tag_id: int, *, start: int) -> list[Contact]:
        """Up to 50 contacts holding the tag from offset ``start``, asked in id order, in answer order:
        the paging of an account that ignores the condition of :meth:`contacts_with_tag_page`."""
        return self._tag_page(tag_id, start=start, condition=None)

    def _tag_page(self, tag_id: int, *, start: int, condition: list[Any] | None) -> list[Contact]:
        params: dict[str, str | int] = {
            "objectID": CONTACT_OBJECT_TYPE,
            "tag_id": tag_id,
            "range": PAGE_SIZE,
            "start": start,
            "sort": "id",
            "sortDir": "asc",
            "listFields": self.list_fields(),
        }
        if condition is not None:
            params["condition"] = _json(condition)
        rows = _rows(self._transport.request("GET", "objects/tag", params=params), "GET objects/tag")
        return [self._contact(row, "GET objects/tag") for row in rows]

    def count_contacts_with_tag(self, tag_id: int) -> int:
        """How many contacts hold the tag: ``objects/tag?objectID=0&tag_id=N&count=true`` answers
        ``{"count": "N"}`` (the .NET client's count since 2019; no source shows a condition on
        ``contact_cat`` working in ``objects/getInfo``, which would count the whole account if ignored)."""
        params: dict[str, str | int] = {"objectID": CONTACT_OBJECT_TYPE, "tag_id": tag_id, "count": "true"}
        data = self._transport.request("GET", "objects/tag", params=params)
        count = data.get("count") if isinstance(data, Mapping) else None
        try:
            return int(str(count))
        except ValueError:
            raise _unexpected("GET objects/tag count", data) from None

    def add_tags(self, contact_ids: Iterable[int], tag_ids: Iterable[int]) -> None:
        """Tag the contacts. Ontraport applies this asynchronously on its side (unverified)."""
        self._change_tags("PUT", "add_list", contact_ids, tag_ids)

    def remove_tags(self, contact_ids: Iterable[int], tag_ids: Iterable[int]) -> None:
        self._change_tags("DELETE", "remove_list", contact_ids, tag_ids)

    def _change_tags(
        self, method: str, list_name: str, contact_ids: Iterable[int], tag_ids: Iterable[int]
    ) -> None:
        contacts = list(dict.fromkeys(int(contact_id) for contact_id in contact_ids))
        tags = _comma_list(dict.fromkeys(int(tag_id) for tag_id in tag_ids))
        if not contacts or not tags:
            return
        # Chunked like reads, so one call never carries an unbounded list.
        for start in range(0, len(contacts), PAGE_SIZE):
            body = {
                "objectID": CONTACT_OBJECT_TYPE,
                list_name: tags,
                "ids": _comma_list(contacts[start : start + PAGE_SIZE]),
            }
            self._transport.request(method, "objects/tag", json=body)

    # Account

    def contact_count(self) -> int:
        """How many contacts the account has: one cheap call, used to check the connection."""
        data = self._transport.request("GET", "Contacts/getInfo", params={})
        if not isinstance(data, Mapping):
            raise _unexpected("GET Contacts/getInfo", data)
        try:
            return int(str(data.get("count") or 0))
        except ValueError:
            raise _unexpected("GET Contacts/getInfo", data) from None

    # Webhook subscriptions: Ontraport POSTs events (a tag added or removed ...) to a URL.

    def webhook_subscribe(self, *, url: str, event: str, tag_id: int) -> WebhookSubscription:
        """Subscribe ``url`` to ``event`` ("sub_tag" or "unsub_tag") for one tag.

        As Ontraport documents it (PHP SDK ``Webhooks::subscribe``, its support article): a form body,
        the tag named in the event (``sub_tag(4)``) and ``data`` holding payload options, here
        ``{"format":"notify"}``. A POST is not idempotent: after a timeout or a 5xx the subscription may
        have been made, so every page of the list is read for it before it is sent again."""
        form = {"url": url, "event": event_with_target(event, tag_id), "data": SUBSCRIPTION_DATA}
        try:
            data = self._transport.request("POST", "Webhook/subscribe", form=form, idempotent=False)
        except OntraportError as error:
            if not error.transient or isinstance(error, RateLimitedError):
                raise
            made = [s for s in self.webhook_subscriptions() if s.url == url and s.target == form["event"]]
            if made:
                return max(made, key=lambda subscription: subscription.id)
            data = self._transport.request("POST", "Webhook/subscribe", form=form, idempotent=False)
        if not isinstance(data, Mapping):
            raise _unexpected("POST Webhook/subscribe", data)
        return self._subscription(data, "POST Webhook/subscribe")

    def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """Every webhook subscription of the account (other apps' too), with the code its URL last
        answered. ``GET /Webhooks`` is paged (50 rows at most): every page is read, and a page that
        repeats earlier rows (``start`` ignored) raises instead of passing for the end, because callers
        conclude from this list that a subscription is gone."""
        found: dict[int, WebhookSubscription] = {}
        start = 0
        while True:
            params = {"start": start, "range": PAGE_SIZE}
            rows = _rows(self._transport.request("GET", "Webhooks", params=params), "GET Webhooks")
            page = [self._subscription(row, "GET Webhooks") for row in rows]
            new = [subscription for subscription in page if subscription.id not in found]
            found.update((subscription.id, subscription) for subscription in new)
            if len(rows) < PAGE_SIZE:
                return list(found.values())
            if not new:
                raise TransportError(
                    f"GET Webhooks: the page at start={start} repeats earlier rows (start ignored); "
                    "the list cannot be read to its end"
                )
            start += PAGE_SIZE

    def webhook_unsubscribe(self, subscription_id: int) -> None:
        """Remove a subscription. Raises :class:`NotFoundError` when Ontraport has no such subscription."""
        self._transport.request("DELETE", "Webhook/unsubscribe", params={"id": subscription_id})

    # Parsing helpers: a malformed object is a TransportError (the answer is unusable), not a crash.

    @staticmethod
    def _contact(data: Mapping[str, Any], what: str) -> Contact:
        try:
            return Contact.from_api(data)
        except ValueError:
            raise _unexpected(what, data) from None

    @staticmethod
    def _tag(data: Mapping[str, Any], what: str) -> Tag:
        try:
            return Tag.from_api(data)
        except ValueError:
            raise _unexpected(what, data) from None

    @staticmethod
    def _subscription(data: Mapping[str, Any], what: str) -> WebhookSubscription:
        try:
            return WebhookSubscription.from_api(data)
        except ValueError:
            raise _unexpected(what, data) from None

    @staticmethod
    def _id(value: Any, what: str, row: Mapping[str, Any]) -> int:
        try:
            return int(str(value))
        except ValueError:
            raise _unexpected(what, row) from None
