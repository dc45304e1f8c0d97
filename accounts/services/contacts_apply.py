"""Apply Ontraport contacts to users: THE accounts service every path goes through (the webhook worker,
replays, imports, resyncs, the sweep).

    outcomes = users_sync_from_contacts(requests={3: ContactRequest(action=SyncAction.ADD)}, contacts=fetched)

The caller hands in what it wants done to which contacts and the contacts Ontraport returned, and gets one
`SyncOutcome` per contact back. Everything else is the service's: the identity rules
(`contact_identity`), one transaction for the batch with a savepoint per contact (one contact's failure
undoes only its own work), the batch's one read of users and its bulk writes (`batch`), and the side
effects owed after commit. Applying a contact twice changes nothing the second time, which is what makes
retries, replays and merged duplicates harmless.
"""

import dataclasses
import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction

from accounts.identity import email_key
from accounts.models import FieldMapping, User
from accounts.ontraport import ontraport_client
from accounts.reasons import FailureReason
from accounts.services.batch import BatchWrites, UsersLoaded
from accounts.services.contact_identity import (
    IdentityLookups,
    IdentityRefused,
    identity_lookups,
    user_for_contact,
)
from accounts.services.directory import ContactDirectory
from accounts.services.fields import email_is_valid, field_mappings_enabled
from accounts.services.roles import role_memo_clear
from accounts.services.tags import tags_ensure_known
from accounts.services.user_apply import (
    Applied,
    user_create_from_contact,
    user_update_from_contact,
    username_wanted,
)
from accounts.usernames import usernames_probe
from ontraport_client import AuthenticationError, Contact, OntraportError, RateLimitedError

logger = logging.getLogger(__name__)


class SyncAction(StrEnum):
    """What a caller asks for, weakest first: a merged group of webhooks does the strongest one."""

    UPDATE_TAGS = "update_tags"
    UPDATE = "update"
    ADD = "add"

    @property
    def strength(self) -> int:
        return list(SyncAction).index(self)


@dataclass(frozen=True)
class ContactRequest:
    action: SyncAction
    role: str = ""
    send_notification: bool = False


class Effect(StrEnum):
    CREATED = "created"
    LINKED = "linked"  # an unlinked user with the contact's e-mail, now linked
    RELINKED = "relinked"  # a user whose contact was merged away or deleted, now linked to this one
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NONE = "none"  # no user for the contact (and not an add)


@dataclass(frozen=True)
class SyncOutcome:
    kind: Literal["done", "failed", "retry"]
    reason: str  # a FailureReason, or "" when done with a user
    message: str
    user_id: int | None = None
    effect: Effect = Effect.NONE
    count_attempt: bool = True  # retry only: does this retry use up an attempt
    retry_after: datetime.timedelta | None = None  # retry only: the delay this retry needs, if any
    max_attempts: int | None = None  # retry only: the attempts this reason may take (None: the default)

    @classmethod
    def failed(cls, reason: FailureReason, message: str) -> "SyncOutcome":
        return cls(kind="failed", reason=reason, message=message)

    @classmethod
    def retry_for(cls, error: OntraportError) -> "SyncOutcome":
        """Ontraport trouble: rate limiting never uses up an attempt; rejected credentials get a reason of
        their own, so the site owner sees a configuration problem rather than a generic failure."""
        if isinstance(error, AuthenticationError):
            return cls(
                kind="retry",
                reason=FailureReason.ONTRAPORT_CREDENTIALS,
                message="Ontraport rejected the API credentials "
                "(check ONTRAPORT_APP_ID and ONTRAPORT_API_KEY)",
            )
        return cls(
            kind="retry",
            reason=FailureReason.RETRYING,
            message=f"Ontraport error: {error}",
            count_attempt=not isinstance(error, RateLimitedError),
        )


# A contact whose write loses a race (its user or e-mail committed by another worker meanwhile) reads again.
_RACE_RETRIES = 3
# A batch the database aborted to break a deadlock with another batch runs again, at most this many times in
# all; PostgreSQL's deadlock_detected and serialization_failure.
_DEADLOCK_RETRIES = 3
LOCK_CONFLICT_SQLSTATES = {"40P01", "40001"}


def users_sync_from_contacts(
    *,
    requests: Mapping[int, ContactRequest],
    contacts: Mapping[int, Contact],
    directory: ContactDirectory | None = None,
    dry_run: bool = False,
) -> dict[int, SyncOutcome]:
    """Apply contacts to users: one outcome per contact id in `requests`.

    `contacts` are the contacts Ontraport returned; an id of `requests` missing from them is one Ontraport
    no longer has, which the identity rules follow through `directory` (default: the configured client).
    With `dry_run`, every outcome is computed and everything rolled back: no write, no side effect."""
    directory = directory if directory is not None else ontraport_client()
    role_memo_clear()  # groups and settings are read afresh for every batch
    try:
        lookups = identity_lookups(requested_ids=list(requests), contacts=contacts, directory=directory)
    except OntraportError as error:
        return dict.fromkeys(requests, SyncOutcome.retry_for(error))
    if not dry_run:
        _name_new_tags(contacts.values(), directory)  # committed apart: a tag row serves every batch
    mappings = field_mappings_enabled()
    # Owning the transaction, the batch can run again when the database aborts it to break a deadlock with
    # another worker's batch (both locking some of the same users, in orders of their own).
    tries = 1 if transaction.get_connection().in_atomic_block else _DEADLOCK_RETRIES
    for attempt in range(1, tries):
        try:
            return _batch_apply(requests, contacts, lookups, directory, mappings, dry_run=dry_run)
        except OperationalError as error:
            if not _lost_to_a_lock_conflict(error):
                raise
            logger.info("batch of %d contacts: %s (try %d), applying it again", len(requests), error, attempt)
            role_memo_clear()
    return _batch_apply(requests, contacts, lookups, directory, mappings, dry_run=dry_run)  # the last try


def _batch_apply(
    requests: Mapping[int, ContactRequest],
    contacts: Mapping[int, Contact],
    lookups: IdentityLookups,
    directory: ContactDirectory,
    mappings: Sequence[FieldMapping],
    *,
    dry_run: bool,
) -> dict[int, SyncOutcome]:
    """The batch in one transaction: one read of its users, a savepoint per contact, the bulk writes."""
    outcomes: dict[int, SyncOutcome] = {}
    with transaction.atomic():
        if dry_run:
            _name_new_tags(contacts.values(), directory)  # rolled back with the rest
        loaded = UsersLoaded.read(
            contact_ids=[*requests, *(s.id for s in lookups.survivors.values())],
            email_keys=[key for c in contacts.values() if (key := email_key(c.email))],
        )
        new = [c for c in contacts.values() if loaded.by_contact_id.get(c.id) is None and email_key(c.email)]
        loaded.usernames = usernames_probe(bases=[username_wanted(c, mappings) for c in new])
        writes = BatchWrites()
        for contact_id, request in requests.items():
            outcomes[contact_id] = _apply_one(
                contact_id, request, contacts, lookups, loaded, writes, mappings
            )
        writes.write()
        if dry_run:
            transaction.set_rollback(True)
    return outcomes


def _lost_to_a_lock_conflict(error: OperationalError) -> bool:
    """Did the database abort the transaction to break a deadlock (or a serialization conflict)?"""
    return getattr(error.__cause__, "sqlstate", None) in LOCK_CONFLICT_SQLSTATES


def _apply_one(
    contact_id: int,
    request: ContactRequest,
    contacts: Mapping[int, Contact],
    lookups: IdentityLookups,
    loaded: UsersLoaded,
    writes: BatchWrites,
    mappings: Sequence[FieldMapping],
) -> SyncOutcome:
    contact = contacts.get(contact_id) or lookups.survivors.get(contact_id)
    if contact is None:
        return _contact_gone(contact_id, loaded)
    if contact.invalid:
        return SyncOutcome.failed(
            FailureReason.INVALID_CONTACT_DATA, f"contact {contact_id}: {contact.invalid}"
        )
    for attempt in range(_RACE_RETRIES):
        user: User | None = None
        own = BatchWrites()
        try:
            with transaction.atomic():
                user, how = user_for_contact(contact=contact, loaded=loaded, lookups=lookups)
                outcome, applied = _apply_to(user, how, contact, request, loaded, own, mappings)
        except IdentityRefused as refused:
            return SyncOutcome.failed(refused.reason, refused.message)
        except IntegrityError:
            # Another worker created or linked this contact's user (or took the username) between our read
            # and our write; its row is committed now, so reading again finds it.
            loaded.forget(contact_id=contact.id, email_key=email_key(contact.email), user=user)
            role_memo_clear()  # in case the default role's group was deleted since it was remembered
            logger.info(
                "contact %s: concurrent change while syncing (try %s), reading again", contact.id, attempt
            )
            continue
        except Exception as error:
            # Whatever went wrong is this contact's alone: its savepoint is gone, the batch goes on, and
            # the caller retries this contact (counting an attempt, so it cannot go on for ever).
            logger.exception("contact %s: unexpected error while applying it", contact.id)
            loaded.forget(contact_id=contact.id, email_key=email_key(contact.email), user=user)
            return SyncOutcome(
                kind="retry",
                reason=FailureReason.RETRYING,
                message=f"unexpected error: {type(error).__name__}",
            )
        if applied is not None:
            # The batch's read now knows the user as it is: linked to this contact, its e-mail, its tags.
            loaded.remember(applied.user)
            loaded.tag_ids[applied.user.pk] = contact.tag_ids
        writes.take(own)
        if contact_id != contact.id and outcome.kind == "done":
            outcome = _note(outcome, f"contact {contact_id} was merged into {contact.id} in Ontraport")
        return outcome
    return SyncOutcome.failed(
        FailureReason.CONFLICT, f"contact {contact.id} kept conflicting with concurrent changes; replay it"
    )


def _apply_to(
    user: User | None,
    how: str,
    contact: Contact,
    request: ContactRequest,
    loaded: UsersLoaded,
    writes: BatchWrites,
    mappings: Sequence[FieldMapping],
) -> tuple[SyncOutcome, Applied | None]:
    if user is not None and user.is_protected:
        message = f"user {user.username} is staff or a superuser: webhooks never change it"
        return SyncOutcome(
            kind="done", reason="", message=message, user_id=user.pk, effect=Effect.UNCHANGED
        ), None
    if user is None:
        if request.action != SyncAction.ADD:
            message = "no matching user"
            return SyncOutcome(kind="done", reason=FailureReason.NO_MATCHING_USER, message=message), None
        refusal = _refuse_to_create(contact)
        if refusal is not None:
            return refusal, None
        applied = user_create_from_contact(
            contact=contact,
            role=request.role,
            send_notification=request.send_notification,
            mappings=mappings,
            loaded=loaded,
            writes=writes,
        )
        effect, head = Effect.CREATED, f"created user {applied.user.username}"
        if applied.changes:
            head += f": {'; '.join(applied.changes)}"
    else:
        previous_contact = user.contact_id
        applied = user_update_from_contact(
            user=user,
            contact=contact,
            with_fields=request.action != SyncAction.UPDATE_TAGS,
            role=request.role,
            mappings=mappings,
            loaded=loaded,
            writes=writes,
        )
        effect = {"by_email": Effect.LINKED, "relinked": Effect.RELINKED}.get(
            how, Effect.UPDATED if applied.changed else Effect.UNCHANGED
        )
        if effect == Effect.UNCHANGED:
            head = f"no change to user {user.username}"
        elif applied.changes:
            head = f"updated user {user.username}: {'; '.join(applied.changes)}"
        else:
            head = f"updated user {user.username}"
        if how == "by_email":
            applied.notes.insert(0, "linked by e-mail")
        elif how == "relinked":
            applied.notes.insert(
                0,
                f"relinked from contact {previous_contact}, which no longer exists in Ontraport "
                "(merged or deleted)",
            )
    message = "; ".join([head, *applied.notes])
    return SyncOutcome(
        kind="done", reason="", message=message, user_id=applied.user.pk, effect=effect
    ), applied


def _refuse_to_create(contact: Contact) -> SyncOutcome | None:
    if not contact.email.strip():
        # Ontraport's "Contact is created" trigger fires before the e-mail is typed: wait for it a while.
        return SyncOutcome(
            kind="retry",
            reason=FailureReason.NO_EMAIL,
            message=f"contact {contact.id} has no e-mail address yet (Ontraport's 'Contact is created' "
            "trigger fires before details are entered; trigger on a tag or a field update instead)",
            retry_after=datetime.timedelta(seconds=settings.FUSION_NO_EMAIL_RETRY_SECONDS),
            max_attempts=settings.FUSION_NO_EMAIL_ATTEMPTS,
        )
    if email_key(contact.email) is None or not email_is_valid(contact.email.strip()):
        return SyncOutcome.failed(
            FailureReason.INVALID_EMAIL,
            # repr: an invisible character or a stray space shows as what it is.
            f"contact {contact.id} has an invalid e-mail address: {contact.email.strip()!r}",
        )
    return None


def _contact_gone(contact_id: int, loaded: UsersLoaded) -> SyncOutcome:
    """Ontraport no longer has the contact and no survivor holds its user's e-mail."""
    user = loaded.user_with_contact_id(contact_id)
    if user is None:
        return SyncOutcome.failed(FailureReason.NOT_FOUND, f"Ontraport has no contact {contact_id}")
    message = f"contact {contact_id} was deleted in Ontraport; user {user.username} kept"
    if settings.FUSION_DELETED_CONTACT == "deactivate" and not user.is_protected and user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        message = f"contact {contact_id} was deleted in Ontraport; user {user.username} deactivated"
    return dataclasses.replace(SyncOutcome.failed(FailureReason.CONTACT_DELETED, message), user_id=user.pk)


def _note(outcome: SyncOutcome, note: str) -> SyncOutcome:
    return dataclasses.replace(outcome, message=f"{outcome.message}; {note}")


def _name_new_tags(contacts: Iterable[Contact], directory: ContactDirectory) -> None:
    """Make sure every tag id has a row; names are cosmetic, so a failed refresh is only logged (the tags
    are applied by id now and named at the next refresh)."""
    tag_ids = {tag_id for contact in contacts for tag_id in contact.tag_ids}
    try:
        tags_ensure_known(tag_ids=tag_ids, client=directory)
    except OntraportError as error:
        logger.warning("tag list refresh failed: %s", error)
