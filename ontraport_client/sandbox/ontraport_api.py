"""The Ontraport REST API as the sandbox serves it: contacts (object type 0) and tags (14).

Faithful where the site depends on it: the ``{"code": 0, "data": ..., "account_id": ...}`` envelope
(list calls add ``"misc": []``), every value a string or null, ``range`` capped at 50, plain-text
error bodies. Authentication, rate limiting and faults are applied before a request reaches here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .conditions import Predicate, parse_condition
from .store import ContactStore, DuplicateTagError, Record
from .webhook_subscriptions import SubscriptionError, WebhookSubscriptions
from .wire import Request, Response, json_response, text_response

CONTACTS = 0
TAGS = 14
MAX_RANGE = 50

Handler = Callable[[dict[str, Any]], Response]


class Refusal(Exception):
    """An error answer: Ontraport sends these as plain text."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def invalid(text: str = "Invalid query") -> Refusal:
    return Refusal(400, text)


NOT_FOUND = "Object not found"


def _int(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise invalid(f"Missing parameter: {name}")
        return default
    try:
        return int(str(value))
    except ValueError:
        raise invalid(f"Invalid parameter: {name}") from None


def _id_list(value: Any) -> list[int]:
    """ "1,2,3" (or a JSON list) → [1, 2, 3]."""
    parts = value if isinstance(value, list) else str(value).split(",")
    try:
        return [int(str(part).strip()) for part in parts if str(part).strip()]
    except ValueError:
        raise invalid("Invalid id list") from None


def _narrowed(rows: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``listFields=a,b``: only those fields of each row, plus ``id`` (PHP SDK: every list call takes it)."""
    if not params.get("listFields"):
        return [dict(row) for row in rows]
    wanted = {"id", *(name.strip() for name in str(params["listFields"]).split(","))}
    return [{key: value for key, value in row.items() if key in wanted} for row in rows]


def _form_or_empty(request: Request) -> bool:
    content_type = request.header("content-type").lower()
    text = request.body.strip()
    return not text or ("json" not in content_type and not text.startswith((b"{", b"[")))


class OntraportApi:
    def __init__(self, store: ContactStore, account_id: int, webhooks: WebhookSubscriptions) -> None:
        self.store = store
        self.account_id = account_id
        self.webhooks = webhooks
        # Whether list calls ignore ``condition``, as an account might on objects/tag (unverified either
        # way): the switch lets tests prove that the client notices instead of ending a run short.
        self.ignore_condition = False
        contacts_only = self._contacts_only
        # Keys are lower-cased paths: the named forms (/Contacts) and the generic ones (/objects with
        # objectID) lead to the same handlers.
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "/contact"): lambda p: self._get_object(p, CONTACTS),
            ("GET", "/object"): lambda p: self._get_object(p, self._object_type(p)),
            ("DELETE", "/contact"): self._delete_contact,
            ("GET", "/contacts"): lambda p: self._list_objects(p, CONTACTS),
            ("GET", "/tags"): lambda p: self._list_objects(p, TAGS),
            ("GET", "/objects"): lambda p: self._list_objects(p, self._object_type(p)),
            ("GET", "/contacts/getinfo"): self._contacts_info,
            ("GET", "/objects/getinfo"): contacts_only(self._contacts_info),
            ("PUT", "/contacts"): self._update_contact,
            ("PUT", "/objects"): contacts_only(self._update_contact),
            ("POST", "/contacts"): lambda p: self._create(p, CONTACTS),
            ("POST", "/tags"): lambda p: self._create(p, TAGS),
            ("POST", "/objects"): lambda p: self._create(p, self._object_type(p)),
            ("POST", "/contacts/saveorupdate"): self._save_or_update,
            ("POST", "/objects/saveorupdate"): contacts_only(self._save_or_update),
            ("GET", "/contacts/meta"): self._meta,
            ("GET", "/objects/meta"): contacts_only(self._meta),
            ("GET", "/object/getbyemail"): self._get_by_email,
            ("PUT", "/objects/tag"): contacts_only(lambda p: self._change_tags(p, adding=True)),
            ("DELETE", "/objects/tag"): contacts_only(lambda p: self._change_tags(p, adding=False)),
            ("GET", "/objects/tag"): contacts_only(self._contacts_with_tag),
            ("POST", "/webhook/subscribe"): self._webhook_subscribe,
            ("GET", "/webhooks"): self._list_webhooks,
            ("DELETE", "/webhook/unsubscribe"): self._webhook_unsubscribe,
        }

    def handle(self, request: Request, path: str) -> Response:
        """Answer one authenticated request; ``path`` is without the ``/1`` prefix."""
        route = self._routes.get((request.method, path.lower()))
        if route is None:
            known_path = any(route_path == path.lower() for _, route_path in self._routes)
            if known_path:
                return text_response(405, "Method not allowed")
            return text_response(404, f"Unknown endpoint: {path}")
        try:
            params = request.params()
        except (ValueError, UnicodeDecodeError):
            return text_response(400, "Invalid request body")
        if path.lower() == "/webhook/subscribe" and not _form_or_empty(request):
            # Every known client (PHP SDK, .NET, Pipedream) sends a form; what Ontraport does with JSON here
            # is unknown (assumed: refused), so a client that drifts to JSON fails against the sandbox.
            return text_response(400, "Invalid request body: Webhook/subscribe takes a form")
        try:
            return route(params)
        except Refusal as refusal:
            return text_response(refusal.status, refusal.text)

    # Envelope

    def _ok(self, data: Any) -> Response:
        return json_response(200, {"code": 0, "data": data, "account_id": self.account_id})

    def _ok_list(self, data: list[Any]) -> Response:
        return json_response(200, {"code": 0, "data": data, "account_id": self.account_id, "misc": []})

    @staticmethod
    def _object_type(params: Mapping[str, Any]) -> int:
        object_type = _int(params, "objectID")
        if object_type not in (CONTACTS, TAGS):
            raise invalid("Invalid object type (the sandbox knows 0 Contacts and 14 Tags)")
        return object_type

    def _contacts_only(self, handler: Handler) -> Handler:
        """A generic-form handler that needs ``objectID=0``."""

        def checked(params: dict[str, Any]) -> Response:
            if self._object_type(params) != CONTACTS:
                raise invalid("Invalid object type for this call")
            return handler(params)

        return checked

    def _tag_row(self, tag_id: int, name: str) -> dict[str, str]:
        object_type = self.store.tag_object_type(tag_id)
        return {"tag_id": str(tag_id), "tag_name": name, "object_type_id": str(object_type)}

    def _condition(self, params: Mapping[str, Any]) -> Predicate | None:
        if not params.get("condition") or self.ignore_condition:
            return None
        try:
            return parse_condition(str(params["condition"]))
        except ValueError:
            raise invalid() from None

    # Reads

    def _get_object(self, params: Mapping[str, Any], object_type: int) -> Response:
        object_id = _int(params, "id")
        if object_type == TAGS:
            name = self.store.tag_name(object_id)
            if name is None:
                raise Refusal(404, NOT_FOUND)
            return self._ok(self._tag_row(object_id, name))
        contact = self.store.contact(object_id)
        if contact is None:
            raise Refusal(404, NOT_FOUND)
        return self._ok(contact)

    def _list_objects(self, params: Mapping[str, Any], object_type: int) -> Response:
        start = _int(params, "start", 0)
        count = min(_int(params, "range", MAX_RANGE), MAX_RANGE)  # Ontraport caps range at 50
        if start < 0 or count < 0:
            raise invalid()
        if object_type == TAGS:
            rows = [self._tag_row(tag_id, name) for tag_id, name in self.store.tags()]
            matches = self._condition(params)
            if matches is not None:
                rows = [row for row in rows if matches(row)]
            return self._ok_list(_narrowed(rows[start : start + count], params))
        contacts, _ = self._query_contacts(params, start=start, count=count)
        return self._ok_list(contacts)

    def _query_contacts(
        self,
        params: Mapping[str, Any],
        *,
        start: int = 0,
        count: int | None = None,
        extra: Predicate | None = None,
    ) -> tuple[list[Record], int]:
        ids = _id_list(params["ids"]) if params.get("ids") not in (None, "") else None
        predicates: list[Predicate] = [extra] if extra else []
        condition = self._condition(params)
        if condition is not None:
            predicates.append(condition)
        if params.get("search"):
            needle = str(params["search"]).casefold()
            predicates.append(
                lambda c: any(
                    needle in (c.get(f) or "").casefold() for f in ("firstname", "lastname", "email")
                )
            )
        sort_dir = str(params.get("sortDir", "asc")).lower()
        if sort_dir not in ("asc", "desc"):
            raise invalid()
        contacts, total = self.store.query_contacts(
            ids=ids,
            predicate=(lambda c: all(test(c) for test in predicates)) if predicates else None,
            sort_field=str(params.get("sort") or "id"),
            descending=sort_dir == "desc",
            start=start,
            count=count,
        )
        return _narrowed(contacts, params), total

    def _contacts_info(self, params: Mapping[str, Any]) -> Response:
        _, total = self._query_contacts(params)
        return self._ok(
            {"listFields": ["firstname", "lastname", "email"], "listFieldSettings": [], "count": str(total)}
        )

    def _meta(self, params: Mapping[str, Any]) -> Response:
        section = {"name": "Contact", "fields": self.store.field_meta()}
        # format=byId keys the answer by object type id; the default keys it by object name.
        key = str(CONTACTS) if str(params.get("format", "")).lower() == "byid" else "Contact"
        return self._ok({key: section})

    def _get_by_email(self, params: Mapping[str, Any]) -> Response:
        if "objectID" in params and self._object_type(params) != CONTACTS:
            raise invalid("Invalid object type for this call")
        email = str(params.get("email") or "")
        if not email:
            raise invalid("Missing parameter: email")
        if str(params.get("all") or "") not in ("", "0"):
            # all=1: every contact with the e-mail, {"ids": [...]}; none is an empty list (assumed).
            return self._ok({"ids": [str(found) for found in self.store.find_contact_ids(email)]})
        contact_id = self.store.find_contact_id(email)
        if contact_id is None:
            raise Refusal(404, NOT_FOUND)  # a 404 since April 2022 (a 400 before)
        return self._ok({"id": str(contact_id)})

    def _contacts_with_tag(self, params: Mapping[str, Any]) -> Response:
        if params.get("tag_id") not in (None, ""):
            tag_id = _int(params, "tag_id")
        elif params.get("tag_name"):
            found = self.store.tag_id(str(params["tag_name"]))
            if found is None:
                return self._ok_list([])
            tag_id = found
        else:
            raise invalid("Missing parameter: tag_id or tag_name")
        marker = f"*/*{tag_id}*/*"

        def tagged(contact: Mapping[str, Any]) -> bool:
            return marker in (contact.get("contact_cat") or "")

        if str(params.get("count") or "").lower() == "true":
            # count=true: the number of matches instead of rows (the .NET client's count of a tag).
            _, total = self._query_contacts(params, count=0, extra=tagged)
            return self._ok({"count": str(total)})
        start = _int(params, "start", 0)
        count = min(_int(params, "range", MAX_RANGE), MAX_RANGE)
        contacts, _ = self._query_contacts(params, start=start, count=count, extra=tagged)
        return self._ok_list(contacts)

    # Writes

    def _update_contact(self, params: Mapping[str, Any]) -> Response:
        contact_id = _int(params, "id")
        fields = {key: value for key, value in params.items() if key not in ("id", "objectID")}
        try:
            attrs = self.store.update_contact(contact_id, fields)
        except ValueError:
            raise invalid("Invalid field value") from None
        if attrs is None:
            raise Refusal(404, NOT_FOUND)
        return self._ok({"attrs": attrs})

    def _create(self, params: Mapping[str, Any], object_type: int) -> Response:
        fields = {key: value for key, value in params.items() if key != "objectID"}
        if object_type == TAGS:
            name = str(fields.get("tag_name") or "").strip()
            if not name:
                raise invalid("Missing parameter: tag_name")
            try:
                tag_id, name = self.store.create_tag(name)
            except DuplicateTagError as error:
                raise invalid(str(error)) from None
            return self._ok(self._tag_row(tag_id, name))
        try:
            return self._ok(self.store.create_contact(fields))
        except ValueError:
            raise invalid("Invalid field value") from None

    def _save_or_update(self, params: Mapping[str, Any]) -> Response:
        """Match on e-mail (``update_by=email``, the default): update the match, or create."""
        update_by = str(params.get("update_by") or "email")
        if update_by != "email":
            raise invalid("The sandbox supports update_by=email only")
        fields = {key: value for key, value in params.items() if key not in ("objectID", "update_by", "id")}
        email = str(fields.get("email") or "")
        existing = self.store.find_contact_id(email) if email else None
        if existing is None:
            return self._create(fields, CONTACTS)
        return self._update_contact({**fields, "id": existing})

    def _delete_contact(self, params: Mapping[str, Any]) -> Response:
        if not self.store.delete_contact(_int(params, "id")):
            raise Refusal(404, NOT_FOUND)
        return self._ok("Deleted")

    def _change_tags(self, params: Mapping[str, Any], *, adding: bool) -> Response:
        list_name = "add_list" if adding else "remove_list"
        tag_ids = _id_list(params.get(list_name) or "")
        contact_ids = _id_list(params.get("ids") or "")
        if not tag_ids or not contact_ids:
            raise invalid(f"Missing parameter: {list_name} or ids")
        if adding:
            self.store.change_tags(contact_ids, add=tag_ids)
        else:
            self.store.change_tags(contact_ids, remove=tag_ids)
        # Ontraport queues the change and answers at once; the sandbox applies it before answering.
        return self._ok("The tag is now being processed.")

    # Webhook subscriptions (see webhook_subscriptions.py)

    def _webhook_subscribe(self, params: Mapping[str, Any]) -> Response:
        try:
            subscription = self.webhooks.subscribe(params)
        except SubscriptionError as error:
            raise invalid(str(error)) from None
        return self._ok(subscription.row())

    def _list_webhooks(self, params: Mapping[str, Any]) -> Response:
        """Paged like every list (start, range at most 50), other apps' subscriptions included."""
        start = _int(params, "start", 0)
        count = min(_int(params, "range", MAX_RANGE), MAX_RANGE)
        if start < 0 or count < 0:
            raise invalid()
        return self._ok_list(self.webhooks.rows(start, count))

    def _webhook_unsubscribe(self, params: Mapping[str, Any]) -> Response:
        if not self.webhooks.unsubscribe(_int(params, "id")):
            raise Refusal(404, NOT_FOUND)
        return self._ok("Deleted")
