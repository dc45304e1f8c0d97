"""Link or create the user for an Ontraport contact and bring it in step: the heart of every webhook.

`user_sync_from_contact` is idempotent: applying the same contact twice changes nothing the second time,
which is what makes retries, replays and merged duplicates harmless.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import FieldMapping, User
from accounts.passwords import password_generate, password_hash_generated
from accounts.services.fields import email_is_valid, mapped_value, user_apply_fields
from accounts.services.password_return import password_return_after_create
from accounts.services.roles import role_resolve
from accounts.services.tags import user_tags_replace
from accounts.services.welcome import welcome_email_send_on_commit
from accounts.usernames import username_base, username_first_free
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
) -> SyncResult:
    """Apply `contact` to its user; `add` creates the user when there is none. Raises SyncRefused."""
    if mappings is None:
        mappings = list(FieldMapping.objects.filter(enabled=True))
    for _ in range(_RACE_RETRIES):
        try:
            with transaction.atomic():
                return _sync(contact, action, role, send_notification, mappings)
        except IntegrityError:
            # Another worker created or linked this contact's user (or took the username) between our read
            # and our write; its row is committed now, so reading again finds it.
            logger.info("contact %s: concurrent change while syncing, reading again", contact.id)
    raise SyncRefused("conflict", f"contact {contact.id} kept conflicting with concurrent changes; retry")


def _sync(
    contact: Contact, action: SyncAction, role: str, send_notification: bool, mappings: Sequence[FieldMapping]
) -> SyncResult:
    user = _user_for_contact(contact)
    if user is None:
        if action != SyncAction.ADD:
            return SyncResult(user=None)
        return _user_create(contact, role, send_notification, mappings)

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
    user_tags_replace(user=user, tag_ids=contact.tag_ids)
    return result


def _user_for_contact(contact: Contact) -> User | None:
    """The linked user, else the user with the contact's e-mail (locked for this transaction)."""
    users = User.objects.select_for_update()
    user = users.filter(contact_id=contact.id).first()
    if user is None and contact.email:
        user = users.filter(email__iexact=contact.email).first()
        if user is not None and user.contact_id not in (None, contact.id):
            raise SyncRefused(
                "email_conflict",
                f"e-mail {contact.email} belongs to user {user.username}, "
                f"already linked to Ontraport contact {user.contact_id}",
            )
    return user


def _user_create(
    contact: Contact, role: str, send_notification: bool, mappings: Sequence[FieldMapping]
) -> SyncResult:
    if not contact.email:
        raise SyncRefused(
            "no_email",
            f"contact {contact.id} has no e-mail address (Ontraport's 'Contact is created' trigger fires "
            "before details are entered; trigger on a tag or a field update instead)",
        )
    if not email_is_valid(contact.email):
        raise SyncRefused("invalid_email", f"contact {contact.id} has an invalid e-mail address")

    username = mapped_value(contact=contact, mappings=mappings, attribute="username")
    if not username:
        username = username_base(
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            username_format=settings.FUSION_USERNAME_FORMAT,
        )
    user = User(username=username_first_free(username[:150]), email=contact.email, contact_id=contact.id)
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
    user.groups.add(choice.group)
    user_tags_replace(user=user, tag_ids=contact.tag_ids)

    result = SyncResult(user=user, created=True)
    if choice.refused:
        result.notes.append(f"{choice.refused}; used the default role {choice.group.name!r}")
    if generated_password and settings.FUSION_RETURN_PASSWORD_FIELD:
        password_return_after_create(user=user, password=generated_password)
        result.notes.append("password return scheduled")
    if send_notification or settings.FUSION_SEND_WELCOME_EMAIL:
        transaction.on_commit(partial(welcome_email_send_on_commit, user_id=user.pk))
        result.notes.append("welcome e-mail queued")
    return result
