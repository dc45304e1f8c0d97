"""Resyncing chosen users from Ontraport (the admin's "Resync from Ontraport"): each linked user's contact
is fetched as it is now and applied, 50 contacts per call."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from accounts.models import User
from accounts.services.sync import SyncAction, SyncRefused, user_sync_from_contact
from accounts.services.tags import tags_ensure_known
from ontraport_client import OntraportClient


@dataclass
class ResyncReport:
    updated: int = 0
    not_linked: int = 0
    problems: list[str] = field(default_factory=list)  # one line per user that could not be resynced


def users_resync_from_ontraport(*, users: Iterable[User], client: OntraportClient) -> ResyncReport:
    """Fetch and apply the contact of each linked user among `users`. Raises OntraportError when the
    fetch fails (nothing is applied then)."""
    report = ResyncReport()
    linked: dict[int, User] = {}
    for user in users:
        if user.contact_id is None:
            report.not_linked += 1
        else:
            linked[user.contact_id] = user
    contacts = client.get_contacts(linked)
    # Tags are rows the users' tag links point to: tag ids first seen here are created (and named) first.
    tags_ensure_known(
        tag_ids={tag for contact in contacts.values() for tag in contact.tag_ids}, client=client
    )
    for contact_id, user in linked.items():
        contact = contacts.get(contact_id)
        if contact is None:
            report.problems.append(f"{user.get_username()}: Ontraport has no contact {contact_id}")
            continue
        try:
            user_sync_from_contact(contact=contact, action=SyncAction.UPDATE)
        except SyncRefused as refused:
            report.problems.append(f"{user.get_username()}: {refused.message}")
        else:
            report.updated += 1
    return report
