"""Link or create the user for an Ontraport contact and bring it in step: the heart of every webhook.

`user_sync_from_contact` is idempotent: applying the same contact twice changes nothing the second time,
which is what makes retries, replays and merged duplicates harmless.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import FieldMapping, User
from accounts.passwords import password_generate, password_hash_generated
from accounts.services.fields import email_is_valid, mapped_value, user_apply_fields
from accounts.services.password_return import password_return_after_create
from accounts.services.roles import role_memo_clear, role_resolve
from accounts.services.sync_batch import SyncWrites, UsersPrefetched, username_wanted
from accounts.services.tags import user_tags_diff, user_tags_replace
from accounts.services.welcome import welcome_email_owe
from accounts.usernames import username_first_free
from ontraport_client import Contact

logger = logging.getLogger(__name__)


class SyncAction(StrEnum):
    """What a webhook asks for, weakest first: a merged group of webhooks does the strongest one."""

    UPDATE_TAGS = "update_tags"
    UPDATE = "update"
    ADD = "add"

    @property
    def strength(self) -> int:
        return list(SyncAction).index(self)


class SyncRefused(Exception):
    """The contact cannot be applied and retrying will not help (no e-mail, e-mail taken ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SyncResult:
    user: User | None
    created: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.user is None:
            return "no matching user"
        head = f"created user {self.user.username}" if self.created else f"updated user {self.user.username}"
        return "; ".join([head, *self.notes])


# A create that loses a race (same contact or e-mail committed by another worker meanwhile) re-reads once.
_RACE_RETRIES = 3


def user_sync_from_contact(
    *,
    contact: Contact,
    action: SyncAction,
    role: str = "",
    send_notification: bool = False,
    mappings: Sequence[FieldMapping] | None = None,
    prefetched: UsersPrefetched | None = None,
) -> SyncResult:
    """Apply `contact` to its user; `add` creates the user when there is none. Raises SyncRefused.

    `prefetched` (from `users_prefetch`, in the caller's transaction) saves the per-contact reads when a
    worker applies many contacts at once; it is used for the first try only, a retry reads afresh. With it,
    the tag and group writes are left to the caller's `users_batch_write`."""
    if mappings is None:
        mappings = list(FieldMapping.objects.filter(enabled=True))
    batch = prefetched
    for _ in range(_RACE_RETRIES):
        try:
            writes = SyncWrites()
            with transaction.atomic():
                result = _sync(contact, action, role, send_notification, mappings, prefetched, batch, writes)
            if batch is not None:
                batch.mark_used(contact, result.user)  # its e-mail may have changed
                batch.defer(writes)
            return result
        except IntegrityError:
            prefetched = None
            role_memo_clear()  # in case the default role's group was deleted since it was remembered
            # Another worker created or linked this contact's user (or took the username) between our read
            # and our write; its row is committed now, so reading again finds it.
            logger.info("contact %s: concurrent change while syncing, reading again", contact.id)
    raise SyncRefused("conflict", f"contact {contact.id} kept conflicting with concurrent changes; retry")


def _sync(
    contact: Contact,
    action: SyncAction,
    role: str,
    send_notification: bool,
    mappings: Sequence[FieldMapping],
    prefetched: UsersPrefetched | None,
    batch: UsersPrefetched | None,
    writes: SyncWrites,
) -> SyncResult:
    """One try. With a `batch`, tag and group writes go to `writes` (the batch writes them at its end);
    without one they are written here, inside the sync's transaction."""
    known, user = prefetched.user_for(contact) if prefetched is not None else (False, None)
    current_tags = None
    if not known:
        user = _user_for_contact(contact)
    elif user is not None:
        _check_email_owner(contact, user)
        current_tags = prefetched.tag_ids.get(user.pk) if prefetched is not None else None
    if user is not None and batch is not None and user.pk in batch.tags_after:
        current_tags = batch.tags_after[user.pk]  # an earlier sync of the batch changed them, not yet written
    if prefetched is not None:
        # Whatever happens next, later contacts of the batch must not trust the prefetch for these.
        prefetched.mark_used(contact, user)
    if user is None:
        if action != SyncAction.ADD:
            return SyncResult(user=None)
        return _user_create(contact, role, send_notification, mappings, batch, writes)

    result = SyncResult(user=user)
    changed: list[str] = []
    if user.contact_id is None:
        user.contact_id = contact.id
        changed.append("contact_id")
        result.notes.append("linked by e-mail")
    if action != SyncAction.UPDATE_TAGS:
        changed += user_apply_fields(user=user, contact=contact, mappings=mappings)
        if role and not user.is_protected:
            choice = role_resolve(requested=role)
            if choice.refused:
                # A typo in a URL must not demote an existing customer to the default role.
                result.notes.append(f"{choice.refused}; groups unchanged")
            else:
                user.groups.set([choice.group])
    if changed:
        user.save(update_fields=changed)
    _tags_set(user, contact.tag_ids, current_tags, batch, writes)
    return result


def _tags_set(
    user: User,
    tag_ids: frozenset[int],
    current: frozenset[int] | None,
    batch: UsersPrefetched | None,
    writes: SyncWrites,
) -> None:
    if batch is None:
        user_tags_replace(user=user, tag_ids=tag_ids, current=current)
        return
    writes.tag_change = user_tags_diff(user=user, tag_ids=tag_ids, current=current)
    writes.tags_now = tag_ids


def _user_for_contact(contact: Contact) -> User | None:
    """The linked user, else the user with the contact's e-mail (locked for this transaction)."""
    users = User.objects.select_for_update()
    user = users.filter(contact_id=contact.id).first()
    if user is None and contact.email:
        user = users.filter(email__iexact=contact.email).first()
        _check_email_owner(contact, user)
    return user


def _check_email_owner(contact: Contact, user: User | None) -> None:
    """A user found by e-mail that is linked to another contact is not this contact's to change."""
    if user is not None and user.contact_id not in (None, contact.id):
        raise SyncRefused(
            "email_conflict",
            f"e-mail {contact.email} belongs to user {user.username}, "
            f"already linked to Ontraport contact {user.contact_id}",
        )


def _user_create(
    contact: Contact,
    role: str,
    send_notification: bool,
    mappings: Sequence[FieldMapping],
    batch: UsersPrefetched | None,
    writes: SyncWrites,
) -> SyncResult:
    if not contact.email:
        raise SyncRefused(
            "no_email",
            f"contact {contact.id} has no e-mail address (Ontraport's 'Contact is created' trigger fires "
            "before details are entered; trigger on a tag or a field update instead)",
        )
    if not email_is_valid(contact.email):
        raise SyncRefused("invalid_email", f"contact {contact.id} has an invalid e-mail address")

    known_usernames = batch.usernames if batch is not None else None
    username = username_first_free(username_wanted(contact, mappings), known=known_usernames)
    user = User(username=username, email=contact.email, contact_id=contact.id)
    user_apply_fields(user=user, contact=contact, mappings=mappings)

    mapped_password = mapped_value(contact=contact, mappings=mappings, attribute="password")
    generated_password = ""
    if mapped_password:
        user.set_password(mapped_password)  # a password a person chose: full-strength hash
    else:
        generated_password = password_generate()
        user.password = password_hash_generated(generated_password)
    user.save()

    choice = role_resolve(requested=role)
    if batch is None:
        user.groups.add(choice.group)
    else:
        writes.group_row, writes.username = (user.pk, choice.group.pk), username
    _tags_set(user, contact.tag_ids, frozenset(), batch, writes)

    result = SyncResult(user=user, created=True)
    if choice.refused:
        result.notes.append(f"{choice.refused}; used the default role {choice.group.name!r}")
    if generated_password and settings.FUSION_RETURN_PASSWORD_FIELD:
        password_return_after_create(user=user, password=generated_password)
        result.notes.append("password return scheduled")
    if send_notification or settings.FUSION_SEND_WELCOME_EMAIL:
        welcome_email_owe(user=user)
        result.notes.append("welcome e-mail queued")
    return result
