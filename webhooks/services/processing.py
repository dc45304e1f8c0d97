"""Applying claimed deliveries: merge each contact's deliveries, fetch the contacts 50 per Ontraport call,
hand them to the accounts service, and record one outcome per delivery.

What a contact means for a user is entirely `accounts.services.contacts_apply`'s; this module only turns
its outcomes into delivery states (webhooks.services.outcomes). Which deliveries to claim is
webhooks.services.claiming's.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import DatabaseError

from accounts.ontraport import ontraport_client
from accounts.services.contacts_apply import ContactRequest, SyncOutcome, users_sync_from_contacts
from ontraport_client import PAGE_SIZE, Contact, OntraportError
from webhooks.models import Delivery
from webhooks.services.merging import merge_deliveries
from webhooks.services.outcomes import BatchReport, deliveries_record_outcomes

logger = logging.getLogger(__name__)


def deliveries_process(*, deliveries: Sequence[Delivery], worker_id: str) -> BatchReport:
    """Apply claimed deliveries: one contact fetch and one accounts-service call per 50 contacts."""
    report = BatchReport(claimed=len(deliveries))
    by_contact: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_contact[delivery.contact_id or 0].append(delivery)
    contact_ids = list(by_contact)
    for start in range(0, len(contact_ids), PAGE_SIZE):
        chunk = {contact_id: by_contact[contact_id] for contact_id in contact_ids[start : start + PAGE_SIZE]}
        try:
            _process_chunk(chunk, report)
        except Exception as error:
            # Whatever escaped (a failed commit, a bug): none of the chunk's work stands, so all of it is
            # retried, counting an attempt, and the rest of the batch goes on.
            logger.exception("contacts %s..%s: error while applying", min(chunk), max(chunk))
            for group in chunk.values():
                _forget_outcome(group, report)
                report.retry_later(group, f"{_kind(error)}: {type(error).__name__}")
    deliveries_record_outcomes(outcomes=report.outcomes, worker_id=worker_id)
    return report


def _process_chunk(chunk: dict[int, list[Delivery]], report: BatchReport) -> None:
    client = ontraport_client()
    try:
        contacts: dict[int, Contact] = client.get_contacts(list(chunk))
    except OntraportError as error:
        outcome = SyncOutcome.retry_for(error)
        for group in chunk.values():
            report.retry_later(
                group, outcome.message, count_attempt=outcome.count_attempt, reason=outcome.reason
            )
        return
    requests = {contact_id: _request(group) for contact_id, group in chunk.items()}
    outcomes = users_sync_from_contacts(requests=requests, contacts=contacts, directory=client)
    for contact_id, group in chunk.items():
        _record(group, outcomes[contact_id], report)


def _request(group: list[Delivery]) -> ContactRequest:
    merged = merge_deliveries(group)
    return ContactRequest(action=merged.action, role=merged.role, send_notification=merged.send_notification)


def _record(group: list[Delivery], outcome: SyncOutcome, report: BatchReport) -> None:
    if outcome.kind == "retry":
        report.retry_later(
            group,
            outcome.message,
            count_attempt=outcome.count_attempt,
            reason=outcome.reason,
            delay=outcome.retry_after,
            max_attempts=outcome.max_attempts,
        )
    elif outcome.kind == "failed":
        report.finish(group, Delivery.Status.FAILED, outcome.reason, outcome.message, outcome.user_id)
    else:
        report.finish(group, Delivery.Status.DONE, outcome.reason, outcome.message, outcome.user_id)


def _forget_outcome(group: list[Delivery], report: BatchReport) -> None:
    """Take back outcomes already noted for `group` (its chunk failed after all)."""
    ids = {delivery.pk for delivery in group}
    kept = [delivery for delivery in report.outcomes if delivery.pk not in ids]
    for delivery in report.outcomes:
        if delivery.pk in ids:
            if delivery.status == Delivery.Status.DONE:
                report.done -= 1
            elif delivery.status == Delivery.Status.FAILED:
                report.failed -= 1
            else:
                report.retrying -= 1
            delivery.user_id, delivery.finished_at = None, None
    report.outcomes = kept


def _kind(error: Exception) -> str:
    return "database error" if isinstance(error, DatabaseError) else "unexpected error"
