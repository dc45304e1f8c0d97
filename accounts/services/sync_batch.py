"""Syncing many contacts in one transaction: what a worker's chunk of 50 contacts shares.

The users a chunk may touch are read (and locked) in one query, the usernames new users want are probed
once, and the tag and group rows of every sync are written together at the chunk's end, instead of a few
statements per contact. `accounts.services.sync` does the per-contact logic and uses this when given one.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import FieldMapping, User
from accounts.services.fields import mapped_value
from accounts.services.tags import TagChange, user_tags_write
from accounts.usernames import UsernamesKnown, username_base, usernames_probe
from ontraport_client import Contact


@dataclass
class UsersPrefetched:
    """A batch of contacts synced in one transaction: the users they may touch, read (and locked) in one
    query instead of one per contact, with their current tag ids and the usernames new users may want;
    and the writes the batch defers to its end (`users_batch_write`): tag changes and new users' groups,
    one statement each for the whole batch instead of one per contact. Only valid inside that transaction.

    A user already synced in this batch, or an e-mail address a sync in this batch created or changed, is
    not answered from here (`user_for` says it cannot tell): the caller reads it fresh, so contacts that
    share a user or an e-mail within one batch get exactly the outcome they would get one by one."""

    by_contact_id: dict[int, User]
    by_email: dict[str, User]
    tag_ids: dict[int, frozenset[int]]
    usernames: UsernamesKnown = field(default_factory=UsernamesKnown)
    used_user_ids: set[int] = field(default_factory=set)
    touched_emails: set[str] = field(default_factory=set)
    # Deferred writes, and each user's tags once they are written (what a later sync must diff against).
    tag_changes: list[TagChange] = field(default_factory=list)
    tags_after: dict[int, frozenset[int]] = field(default_factory=dict)
    group_rows: list[tuple[int, int]] = field(default_factory=list)

    def user_for(self, contact: Contact) -> tuple[bool, User | None]:
        """(True, the user `contact` would be applied to or None), or (False, None) when this cannot tell."""
        user = self.by_contact_id.get(contact.id)
        if user is None and contact.email:
            if contact.email.lower() in self.touched_emails:
                return False, None
            user = self.by_email.get(contact.email.lower())
        if user is not None and user.pk in self.used_user_ids:
            return False, None
        return True, user

    def mark_used(self, contact: Contact, user: User | None) -> None:
        if user is not None:
            self.used_user_ids.add(user.pk)
            self.touched_emails.add(user.email.lower())
        if contact.email:
            self.touched_emails.add(contact.email.lower())

    def defer(self, writes: "SyncWrites") -> None:
        """Take over one successful sync's writes (a sync whose savepoint rolled back never gets here)."""
        if writes.tag_change is not None:
            self.tag_changes.append(writes.tag_change)
            self.tags_after[writes.tag_change.user.pk] = writes.tags_now
        if writes.group_row is not None:
            self.group_rows.append(writes.group_row)
        if writes.username:
            self.usernames.taken.add(writes.username.lower())


@dataclass
class SyncWrites:
    """What one sync leaves for its batch to write: kept apart until the sync's savepoint is released."""

    tag_change: TagChange | None = None
    tags_now: frozenset[int] = frozenset()  # the user's whole tag set after tag_change
    group_row: tuple[int, int] | None = None  # (user id, group id) of a new user's role
    username: str = ""  # a new user's name, taken from now on


def users_prefetch(*, contacts: Sequence[Contact], mappings: Sequence[FieldMapping] = ()) -> UsersPrefetched:
    """Lock and load the users linked to `contacts` or sharing their e-mail addresses, and their tags;
    probe the usernames the contacts without a user would want."""
    contact_ids = [contact.id for contact in contacts]
    emails = {contact.email.lower() for contact in contacts if contact.email}
    users = list(
        User.objects.select_for_update()
        .alias(email_lower=Lower("email"))
        .filter(Q(contact_id__in=contact_ids) | (Q(email_lower__in=emails) & ~Q(email="")))
        .order_by("pk")
    )
    tag_ids: dict[int, set[int]] = {user.pk: set() for user in users}
    for user_id, tag_id in User.tags.through.objects.filter(user_id__in=tag_ids).values_list(
        "user_id", "tag_id"
    ):
        tag_ids[user_id].add(tag_id)
    by_contact_id: dict[int, User] = {user.contact_id: user for user in users if user.contact_id is not None}
    by_email: dict[str, User] = {user.email.lower(): user for user in users if user.email}
    new = [
        contact
        for contact in contacts
        if contact.id not in by_contact_id and contact.email and contact.email.lower() not in by_email
    ]
    return UsersPrefetched(
        by_contact_id=by_contact_id,
        by_email=by_email,
        tag_ids={user_id: frozenset(ids) for user_id, ids in tag_ids.items()},
        usernames=usernames_probe(bases=[username_wanted(contact, mappings) for contact in new]),
    )


def users_batch_write(*, prefetched: UsersPrefetched) -> None:
    """The batch's deferred writes, in the batch's transaction after its last sync: new users' groups in
    one INSERT, every tag change in one DELETE and one INSERT (then the tag signals, in sync order)."""
    if prefetched.group_rows:
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=user_id, group_id=group_id) for user_id, group_id in prefetched.group_rows],
            ignore_conflicts=True,
        )
    user_tags_write(changes=prefetched.tag_changes)
    prefetched.group_rows, prefetched.tag_changes = [], []


def username_wanted(contact: Contact, mappings: Sequence[FieldMapping]) -> str:
    """The name a new user for `contact` is given if it is free (digits are appended while it is not)."""
    username = mapped_value(contact=contact, mappings=mappings, attribute="username")
    if not username:
        username = username_base(
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            username_format=settings.FUSION_USERNAME_FORMAT,
        )
    return username[:150]
