"""Applying a page of contacts, shaped like the accounts service of issue 8 (`users_sync_from_contacts`).

An adapter around today's `user_sync_from_contact`, so runs are written against the interface they will
use; it goes away when `accounts.services.contacts_apply` lands (the imports below then point there).
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from django.db import transaction

from accounts.models import User
from accounts.services.fields import field_mappings_enabled
from accounts.services.roles import role_memo_clear
from accounts.services.sync import SyncAction, SyncRefused, user_sync_from_contact
from ontraport_client import Contact

__all__ = ["ContactRequest", "Effect", "SyncAction", "SyncOutcome", "users_sync_from_contacts"]


@dataclass(frozen=True)
class ContactRequest:
    action: SyncAction
    role: str = ""
    send_notification: bool = False


class Effect(StrEnum):
    CREATED = "created"
    LINKED = "linked"
    RELINKED = "relinked"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NONE = "none"


@dataclass(frozen=True)
class SyncOutcome:
    kind: Literal["done", "failed", "retry"]
    reason: str
    message: str
    user_id: int | None = None
    effect: Effect = Effect.NONE
    count_attempt: bool = True
    retry_after: datetime.timedelta | None = None


def _snapshot(user: User | None) -> tuple[object, ...] | None:
    if user is None:
        return None
    return (
        user.contact_id,
        user.username,
        user.email,
        user.first_name,
        user.last_name,
        user.password,
        repr(sorted(user.profile.items())),
        tuple(sorted(user.tags.values_list("id", flat=True))),
        tuple(sorted(user.groups.values_list("id", flat=True))),
    )


def _user_of(contact: Contact) -> User | None:
    user = User.objects.filter(contact_id=contact.id).first()
    if user is None and contact.email:
        user = User.objects.filter(email__iexact=contact.email, contact_id=None).first()
    return user


def users_sync_from_contacts(
    *,
    requests: Mapping[int, ContactRequest],
    contacts: Mapping[int, Contact],
    dry_run: bool = False,
) -> dict[int, SyncOutcome]:
    """One outcome per contact id in `requests`; `dry_run` computes them and rolls everything back."""
    outcomes: dict[int, SyncOutcome] = {}
    mappings = field_mappings_enabled()
    role_memo_clear()
    with transaction.atomic():
        for contact_id, request in requests.items():
            contact = contacts.get(contact_id)
            if contact is None:
                outcomes[contact_id] = SyncOutcome("failed", "not_found", f"Ontraport has no contact {contact_id}")
                continue
            before_user = _user_of(contact)
            before = _snapshot(before_user)
            try:
                with transaction.atomic():
                    result = user_sync_from_contact(
                        contact=contact,
                        action=request.action,
                        role=request.role,
                        send_notification=request.send_notification,
                        mappings=mappings,
                    )
            except SyncRefused as refused:
                outcomes[contact_id] = SyncOutcome("failed", refused.code, refused.message)
                continue
            user = result.user
            if user is None:
                effect = Effect.NONE
            elif result.created:
                effect = Effect.CREATED
            elif before_user is not None and before_user.contact_id is None:
                effect = Effect.LINKED
            else:
                user.refresh_from_db()
                effect = Effect.UNCHANGED if _snapshot(user) == before else Effect.UPDATED
            outcomes[contact_id] = SyncOutcome(
                "done", "" if user else "no_matching_user", result.message, user.pk if user else None, effect
            )
        if dry_run:
            transaction.set_rollback(True)
    return outcomes
