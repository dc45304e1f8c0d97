"""What one batch of contacts shares inside its transaction: the users it may touch, read (and locked) in one
query, and the tag and group rows it writes at its end in one statement each.

`UsersLoaded` answers "which user has this contact id / e-mail key?" from the batch's one read, and is kept
true as the batch changes users (a link, a new user, a changed e-mail). An entry is dropped when a contact's
savepoint rolls back (its in-memory user may hold changes that never reached the database): the next
question about it reads the database again. So contacts that share a user or an e-mail within one batch get
exactly the outcome they would get one by one.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.db.models import Q

from accounts.models import OutboxChange, Tag, User
from accounts.services.tags import TagChange, user_tags_write
from accounts.usernames import UsernamesKnown
from ontraport_client import Contact

# A key the batch read and found no user for: distinct from "not read" (absent from the dict).
NOBODY = None


@dataclass(frozen=True)
class UnsentChanges:
    """A user's changes the site made that Ontraport has not been sent yet (the outbox, merged in order).

    The conflict rule (docs/sync.md): the later change wins, as Ontraport orders them — a site change takes
    effect in Ontraport when it is sent, so until then it is later than any contact state read from
    Ontraport, and a contact applied meanwhile is applied with these changes over it (no tag undone and
    redone, no signal fired twice). Once sent, Ontraport's state is the truth again."""

    added: frozenset[int] = frozenset()
    removed: frozenset[int] = frozenset()
    fields: dict[str, str] = field(default_factory=dict)

    def over(self, contact: Contact) -> Contact:
        fields = {**contact.fields, **self.fields}
        return replace(
            contact,
            tag_ids=(contact.tag_ids - self.removed) | self.added,
            fields=fields,
            email=(fields.get("email") or "").strip(),
            first_name=(fields.get("firstname") or "").strip(),
            last_name=(fields.get("lastname") or "").strip(),
        )


@dataclass
class UsersLoaded:
    by_contact_id: dict[int, User | None] = field(default_factory=dict)
    by_email_key: dict[str, User | None] = field(default_factory=dict)
    tag_ids: dict[int, frozenset[int]] = field(default_factory=dict)  # user pk → tag ids now
    usernames: UsernamesKnown = field(default_factory=UsernamesKnown)
    # user pk → (contact id, e-mail key) as last remembered: what to clear when either changes
    identifiers: dict[int, tuple[int | None, str | None]] = field(default_factory=dict)
    tag_names: dict[int, str] = field(default_factory=dict)  # tag id → name, read when first needed
    unsent: dict[int, UnsentChanges | None] = field(default_factory=dict)  # user pk → outbox changes

    @classmethod
    def read(cls, *, contact_ids: Iterable[int], email_keys: Iterable[str]) -> "UsersLoaded":
        """Lock and load the users linked to `contact_ids` or holding `email_keys`, and their tags."""
        contact_ids, email_keys = set(contact_ids), set(email_keys)
        users = list(
            User.objects.select_for_update()
            .filter(Q(contact_id__in=contact_ids) | Q(email_key__in=email_keys))
            .order_by("pk")
        )
        loaded = cls(
            by_contact_id=dict.fromkeys(contact_ids, NOBODY),
            by_email_key=dict.fromkeys(email_keys, NOBODY),
        )
        for user in users:
            loaded.remember(user)
        loaded.tag_ids = _tag_ids_of(user.pk for user in users)
        loaded.unsent = _unsent_of(user.pk for user in users)
        return loaded

    def user_with_contact_id(self, contact_id: int) -> User | None:
        if contact_id not in self.by_contact_id:
            user = User.objects.select_for_update().filter(contact_id=contact_id).first()
            self.by_contact_id[contact_id] = user
            if user is not None:
                self.remember(user)
        return self.by_contact_id[contact_id]

    def user_with_email_key(self, key: str) -> User | None:
        if key not in self.by_email_key:
            user = User.objects.select_for_update().filter(email_key=key).first()
            self.by_email_key[key] = user
            if user is not None:
                # Read later than the batch's first read: another worker may have linked it since, so
                # what this read says of its contact id replaces what the first read said.
                self.remember(user)
        return self.by_email_key[key]

    def tags_of(self, user: User) -> frozenset[int]:
        if user.pk not in self.tag_ids:
            self.tag_ids.update(_tag_ids_of([user.pk]))
        return self.tag_ids[user.pk]

    def unsent_of(self, user: User) -> UnsentChanges | None:
        """The user's changes waiting to be sent to Ontraport; read under the user's lock, so a change
        committed by the admin meanwhile is either seen here or made after this batch, on its result."""
        if user.pk not in self.unsent:
            self.unsent.update(_unsent_of([user.pk]))
        return self.unsent[user.pk]

    def names_of_tags(self, tag_ids: Iterable[int]) -> list[str]:
        """The tags' names (their id when unnamed) in name order, for the log; one query for the ids this
        batch has not named yet."""
        wanted = set(tag_ids)
        if missing := wanted - self.tag_names.keys():
            self.tag_names.update(dict.fromkeys(missing, ""))
            self.tag_names.update(Tag.objects.filter(pk__in=missing).values_list("pk", "name"))
        return sorted((self.tag_names[tag_id] or str(tag_id) for tag_id in wanted), key=str.casefold)

    def remember(self, user: User) -> None:
        """`user` as it now is in the database (as read, or after a successful apply: linked to another
        contact, or with another e-mail, the old entries name nobody)."""
        before = self.identifiers.get(user.pk)
        if before is not None and before != (user.contact_id, user.email_key):
            old_contact_id, old_key = before
            if old_contact_id is not None and old_contact_id != user.contact_id:
                self.by_contact_id[old_contact_id] = NOBODY
            if old_key and old_key != user.email_key:
                self.by_email_key[old_key] = NOBODY
        self.identifiers[user.pk] = (user.contact_id, user.email_key)
        if user.contact_id is not None:
            self.by_contact_id[user.contact_id] = user
        if user.email_key:
            self.by_email_key[user.email_key] = user

    def forget(self, *, contact_id: int, email_key: str | None, user: User | None) -> None:
        """Read these again when next asked: a savepoint rolled back over them, or another worker changed
        them meanwhile (its rows are committed now, so a new read sees them)."""
        self.by_contact_id.pop(contact_id, None)
        if email_key:
            self.by_email_key.pop(email_key, None)
        if user is not None:
            self.tag_ids.pop(user.pk, None)
            self.unsent.pop(user.pk, None)
            contact_id_before, key_before = self.identifiers.pop(user.pk, (None, None))
            for known in (contact_id_before, user.contact_id):
                if known is not None:
                    self.by_contact_id.pop(known, None)
            for known_key in (key_before, user.email_key):
                if known_key:
                    self.by_email_key.pop(known_key, None)


def _tag_ids_of(user_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    if found:
        rows = User.tags.through.objects.filter(user_id__in=found).values_list("user_id", "tag_id")
        for user_id, tag_id in rows:
            found[user_id].add(tag_id)
    return {user_id: frozenset(ids) for user_id, ids in found.items()}


def _unsent_of(user_ids: Iterable[int]) -> dict[int, UnsentChanges | None]:
    """One query: the waiting (or being sent) outbox changes of these users, merged in the order made."""
    merged: dict[int, tuple[set[int], set[int], dict[str, str]]] = {}
    found: dict[int, UnsentChanges | None] = dict.fromkeys(user_ids)
    if not found:
        return found
    rows = (
        OutboxChange.objects.filter(
            user_id__in=list(found), status__in=[OutboxChange.Status.PENDING, OutboxChange.Status.SENDING]
        )
        .order_by("id")
        .values_list("user_id", "tags_added", "tags_removed", "fields")
    )
    for user_id, tags_added, tags_removed, fields in rows:
        added, removed, values = merged.setdefault(user_id, (set(), set(), {}))
        added.difference_update(tags_removed)
        added.update(tags_added)
        removed.difference_update(tags_added)
        removed.update(tags_removed)
        values.update(fields)
    for user_id, (added, removed, values) in merged.items():
        found[user_id] = UnsentChanges(added=frozenset(added), removed=frozenset(removed), fields=values)
    return found


@dataclass
class BatchWrites:
    """Tag changes and new users' groups, written together at the end of the batch's transaction."""

    tag_changes: list[TagChange] = field(default_factory=list)
    group_rows: list[tuple[int, int]] = field(default_factory=list)  # (user id, group id)

    def take(self, other: "BatchWrites") -> None:
        """Adopt one contact's writes once its savepoint is released (a rolled-back one never gets here)."""
        self.tag_changes += other.tag_changes
        self.group_rows += other.group_rows

    def write(self) -> None:
        """New users' groups in one INSERT, every tag change in one DELETE and one INSERT (then the tag
        signals, in order)."""
        if self.group_rows:
            through = User.groups.through
            through.objects.bulk_create(
                [through(user_id=user_id, group_id=group_id) for user_id, group_id in self.group_rows],
                ignore_conflicts=True,
            )
        user_tags_write(changes=self.tag_changes)
        self.tag_changes, self.group_rows = [], []


def tag_change(user: User, *, wanted: frozenset[int], current: frozenset[int]) -> TagChange | None:
    """How setting `user`'s tags to `wanted` changes them, or None when it does not."""
    if wanted == current:
        return None
    return TagChange(user=user, applied=wanted - current, removed=current - wanted)
