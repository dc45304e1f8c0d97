"""Resyncing chosen users from Ontraport (the admin's "Resync from Ontraport"): each linked user's contact
is fetched as it is now (50 per call) and applied by the one service that applies contacts."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from accounts.models import User
from accounts.services.contacts_apply import ContactRequest, SyncAction, users_sync_from_contacts
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
    outcomes = users_sync_from_contacts(
        requests={contact_id: ContactRequest(action=SyncAction.UPDATE) for contact_id in linked},
        contacts=contacts,
        directory=client,
    )
    for contact_id, outcome in outcomes.items():
        if outcome.kind == "done" and outcome.user_id is not None:
            report.updated += 1
        else:
            report.problems.append(f"{linked[contact_id].get_username()}: {outcome.message}")
    return report
