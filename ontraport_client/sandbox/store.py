"""The sandbox's account: contacts, tags and field meta in memory, behind one lock.

Handlers run in one thread per connection; every read and write of the store takes the lock, so
concurrent requests see and leave whole contacts. Methods return copies, never the stored dicts.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..contact import format_tag_ids, parse_tag_ids, tag_ids_problem
from .seed import SeedData, ontraport_record
from .standard_fields import NEW_CONTACT_DEFAULTS, STANDARD_CONTACT_FIELDS

Record = dict[str, str | None]
Predicate = Callable[[Mapping[str, str | None]], bool]
# Told of every change of a contact's tags: (contact as it is now, tag ids added, tag ids removed).
TagListener = Callable[[Record, frozenset[int], frozenset[int]], None]

# Fields the sandbox maintains itself; a write from the API does not set them.
READ_ONLY_FIELDS = frozenset({"id", "date", "dla", "dlm", "unique_id"})


class DuplicateTagError(ValueError):
    pass


class ContactStore:
    def __init__(self, seed: SeedData, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self.tag_listeners: list[TagListener] = []
        self.load(seed)

    def load(self, seed: SeedData) -> None:
        """Replace everything with the seed data."""
        with self._lock:
            self._fields: dict[str, dict[str, Any]] = {**STANDARD_CONTACT_FIELDS, **seed.fields}
            self._contacts: dict[int, Record] = {}
            self._highest_contact_id = 0
            self._tags: dict[int, str] = dict(seed.tags)
            # Ontraport's tag list holds every object type's tags; contacts' are type 0 (the default).
            self._tag_types: dict[int, int] = {}
            for contact in seed.contacts:
                self.put_contact(contact)

    def snapshot(self) -> dict[str, Any]:
        """The whole account in seed format (see .seed), plus the highest contact id ever given: what
        .state_file keeps across restarts."""
        with self._lock:
            return {
                "contacts": [dict(contact) for contact in self._contacts.values()],
                "tags": [{"tag_id": str(tag_id), "tag_name": name} for tag_id, name in self._tags.items()],
                "fields": self.field_meta(),
                "highest_contact_id": self._highest_contact_id,
            }

    def ids_given_up_to(self, highest_contact_id: int) -> None:
        """Ids up to this one were given before (a restart): new contacts get higher ones."""
        with self._lock:
            self._highest_contact_id = max(self._highest_contact_id, highest_contact_id)

    # Field meta

    def field_meta(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: dict(meta) for key, meta in self._fields.items()}

    # Contacts

    def _now(self) -> str:
        return str(int(self._clock()))

    def _complete(self, record: Record, contact_id: int) -> Record:
        """Every known field present (null when unset), as on a live contact."""
        now = self._now()
        complete: Record = {"id": str(contact_id)}  # first, as Ontraport sends it
        complete.update(dict.fromkeys(self._fields))
        complete.update(NEW_CONTACT_DEFAULTS)
        complete.update({"date": now, "dla": now, "dlm": now, "unique_id": secrets.token_hex(5).upper()})
        complete.update(record)
        complete["id"] = str(contact_id)
        if not tag_ids_problem(complete["contact_cat"]):
            # Kept as given otherwise: the control API can plant a malformed value, as a test fault.
            complete["contact_cat"] = format_tag_ids(parse_tag_ids(complete["contact_cat"]))
        return complete

    def _next_id(self) -> int:
        # Kept as a counter (bulk seeding of 10,000 contacts must not rescan them all); like
        # Ontraport's, the ids of deleted contacts are not handed out again.
        return self._highest_contact_id + 1

    def put_contact(self, data: Mapping[str, Any]) -> Record:
        """Create or replace a contact from raw fields (the control API and seeding). The id is
        assigned when absent; unknown fields are kept, so seed data can hold anything."""
        record = ontraport_record(data)
        with self._lock:
            raw_id = record.pop("id", None)
            contact_id = int(raw_id) if raw_id not in (None, "") else self._next_id()
            if contact_id <= 0:
                raise ValueError("a contact id must be a positive integer")
            before = self._contacts.get(contact_id)
            self._store(contact_id, record)
            stored = dict(self._contacts[contact_id])
        if before is not None:  # a replaced contact; seeding a new one is not a tag change
            self._tags_changed(stored, parse_tag_ids(before.get("contact_cat")))
        return stored

    def _store(self, contact_id: int, record: Record) -> None:
        self._contacts[contact_id] = self._complete(record, contact_id)
        self._highest_contact_id = max(self._highest_contact_id, contact_id)

    def create_contact(self, data: Mapping[str, Any]) -> Record:
        """Create a contact through the API: only known, writable fields are taken."""
        with self._lock:
            record = {key: value for key, value in ontraport_record(data).items() if self._writable(key)}
            contact_id = self._next_id()
            self._store(contact_id, record)
            return dict(self._contacts[contact_id])

    def _writable(self, key: str) -> bool:
        # Like Ontraport, fields the account does not have are ignored rather than refused.
        return key in self._fields and key not in READ_ONLY_FIELDS

    def update_contact(self, contact_id: int, data: Mapping[str, Any]) -> Record | None:
        """Write known fields; return ``{changed fields..., "dlm", "id"}`` or ``None`` if absent."""
        with self._lock:
            contact = self._contacts.get(contact_id)
            if contact is None:
                return None
            changes = {key: value for key, value in ontraport_record(data).items() if self._writable(key)}
            if "contact_cat" in changes:
                changes["contact_cat"] = format_tag_ids(parse_tag_ids(changes["contact_cat"]))
            changed = {key: value for key, value in changes.items() if contact.get(key) != value}
            tags_before = parse_tag_ids(contact.get("contact_cat"))
            contact.update(changed)
            self._touch(contact)
            attrs: Record = {**changed, "dlm": contact["dlm"], "id": str(contact_id)}
            now = dict(contact)
        self._tags_changed(now, tags_before)
        return attrs

    def _touch(self, contact: Record) -> None:
        # Strictly increasing, so a change within the same second as the last one still shows.
        previous = int(contact.get("dlm") or 0)
        contact["dlm"] = str(max(int(self._clock()), previous + 1))

    def contact(self, contact_id: int) -> Record | None:
        with self._lock:
            contact = self._contacts.get(contact_id)
            return dict(contact) if contact is not None else None

    def delete_contact(self, contact_id: int) -> bool:
        with self._lock:
            return self._contacts.pop(contact_id, None) is not None

    def merge_contacts(self, *, survivor_id: int, merged_id: int) -> Record | None:
        """Merge one contact into another as Ontraport's duplicate merge does: the survivor (Ontraport keeps
        the oldest record) keeps its values, takes the merged contact's values for the fields it has empty
        and the union of both contacts' tags; the merged contact is deleted. No webhook is sent, as in
        Ontraport. Returns the survivor, or None when either contact is missing."""
        with self._lock:
            survivor = self._contacts.get(survivor_id)
            merged = self._contacts.get(merged_id)
            if survivor is None or merged is None or survivor_id == merged_id:
                return None
            for key, value in merged.items():
                if key not in ("id", "contact_cat", "date", "unique_id") and survivor.get(key) in (None, ""):
                    survivor[key] = value
            tags = parse_tag_ids(survivor.get("contact_cat")) | parse_tag_ids(merged.get("contact_cat"))
            survivor["contact_cat"] = format_tag_ids(tags)
            self._touch(survivor)
            del self._contacts[merged_id]
            return dict(survivor)

    def contact_count(self) -> int:
        with self._lock:
            return len(self._contacts)

    def find_contact_id(self, email: str) -> int | None:
        """Like MySQL's default collation, e-mail matching ignores case. The oldest match (lowest id)."""
        found = self.find_contact_ids(email)
        return found[0] if found else None

    def find_contact_ids(self, email: str) -> list[int]:
        """Every contact with this e-mail (Ontraport allows several), ignoring case, in id order."""
        wanted = email.strip().casefold()
        if not wanted:
            return []
        with self._lock:
            return sorted(
                contact_id
                for contact_id, contact in self._contacts.items()
                if (contact.get("email") or "").casefold() == wanted
            )

    def query_contacts(
        self,
        *,
        ids: Iterable[int] | None = None,
        predicate: Predicate | None = None,
        sort_field: str = "id",
        descending: bool = False,
        start: int = 0,
        count: int | None = None,
    ) -> tuple[list[Record], int]:
        """One page of matching contacts (copies) and the number of matches."""
        with self._lock:
            if ids is None:
                candidates = list(self._contacts.values())
            else:
                candidates = [self._contacts[i] for i in dict.fromkeys(ids) if i in self._contacts]
            matches = [contact for contact in candidates if predicate is None or predicate(contact)]
            matches.sort(key=lambda contact: _sort_key(contact.get(sort_field)), reverse=descending)
            end = None if count is None else start + count
            return [dict(contact) for contact in matches[start:end]], len(matches)

    # Tags

    def tags(self) -> list[tuple[int, str]]:
        with self._lock:
            return sorted(self._tags.items())

    def tag_object_type(self, tag_id: int) -> int:
        with self._lock:
            return self._tag_types.get(tag_id, 0)

    def tag_name(self, tag_id: int) -> str | None:
        with self._lock:
            return self._tags.get(tag_id)

    def tag_id(self, name: str) -> int | None:
        with self._lock:
            return next((tag_id for tag_id, tag in self._tags.items() if tag == name), None)

    def create_tag(self, name: str, tag_id: int | None = None, object_type: int = 0) -> tuple[int, str]:
        """Raises :class:`DuplicateTagError` when a tag with this name (another id) exists."""
        name = name.strip()
        if not name:
            raise ValueError("a tag needs a name")
        with self._lock:
            existing = self.tag_id(name)
            if existing is not None and existing != tag_id:
                raise DuplicateTagError(f"A tag named {name!r} already exists")
            if tag_id is None:
                tag_id = max(self._tags, default=0) + 1
            self._tags[tag_id] = name
            if object_type:
                self._tag_types[tag_id] = object_type
            else:
                self._tag_types.pop(tag_id, None)
            return tag_id, name

    def change_tags(
        self, contact_ids: Iterable[int], *, add: Iterable[int] = (), remove: Iterable[int] = ()
    ) -> None:
        """Add and remove tags on contacts. Unknown contacts and unknown tags are skipped, as the
        call answers before Ontraport processes it and cannot report them."""
        changes: list[tuple[Record, frozenset[int]]] = []
        with self._lock:
            to_add = {tag_id for tag_id in add if tag_id in self._tags}
            to_remove = set(remove)
            for contact_id in contact_ids:
                contact = self._contacts.get(contact_id)
                if contact is None:
                    continue
                current = parse_tag_ids(contact.get("contact_cat"))
                updated = (current | to_add) - to_remove
                if updated != current:
                    contact["contact_cat"] = format_tag_ids(updated)
                    self._touch(contact)
                    changes.append((dict(contact), current))
        for contact, before in changes:
            self._tags_changed(contact, before)

    def _tags_changed(self, contact: Record, before: frozenset[int]) -> None:
        """Tell the listeners (webhook subscriptions) outside the lock: they must never hold up a write."""
        after = parse_tag_ids(contact.get("contact_cat"))
        if after == before:
            return
        for listener in list(self.tag_listeners):
            listener(contact, after - before, before - after)


def _sort_key(value: str | None) -> tuple[int, float, str]:
    """Numbers sort as numbers, text as text (case-insensitive), nulls first."""
    if value is None:
        return (0, 0.0, "")
    try:
        return (1, float(value), "")
    except ValueError:
        return (2, 0.0, value.casefold())
