"""The background task that drains ready deliveries, and how it is enqueued. Thin: what to claim is
webhooks.services.claiming's, applying is webhooks.services.processing's, when to wake is
webhooks.wakeup's."""

import datetime
import logging
import time

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from accounts.ontraport import ontraport_bulk_client
from accounts.services.email_change import email_change_notices_send_due
from accounts.services.outbox_send import outbox_next_due_at, outbox_send
from accounts.services.password_return import password_return_next_due_at, password_return_retry_due
from accounts.services.welcome import welcome_emails_send_due
from webhooks.models import Delivery
from webhooks.reporting import deliveries_finished_counted
from webhooks.services.claiming import deliveries_claim, next_due_at
from webhooks.services.processing import deliveries_process
from webhooks.telemetry.process_id import process_id_new
from webhooks.wakeup import TAIL_DELAY, can_wait, wake_up_throttled, wake_up_waiting

logger = logging.getLogger(__name__)

# A drain hands the worker back after this long so other tasks are not starved; it re-queues itself.
DRAIN_SECONDS = 60.0


@task()
def process_deliveries() -> dict[str, int]:
    worker_id = process_id_new()  # what its claims are held by (Delivery.claimed_by)
    deadline = time.monotonic() + DRAIN_SECONDS
    totals = {"claimed": 0, "done": 0, "failed": 0, "retrying": 0, "outbox_sent": 0, "outbox_failed": 0}
    while time.monotonic() < deadline:
        claimed = deliveries_claim(worker_id=worker_id)
        if not claimed:
            # Webhooks first: the site's own changes go out only when no delivery is ready, one batch at a
            # time, then the deliveries are looked at again; and on the bulk runs' client, whose pacer
            # leaves the last FUSION_BULK_RESERVE calls of the one budget to webhooks.
            sent = outbox_send(client=ontraport_bulk_client(), worker_id=worker_id)
            if not sent.claimed:
                break
            totals["claimed"] += sent.claimed
            totals["outbox_sent"] += sent.sent
            totals["outbox_failed"] += sent.failed
            continue
        if Delivery.objects.ready().exists():
            # More is waiting than this drain took: wake another worker for it now. A wake-up is one row
            # that one worker takes, so without this a backlog (the end of a burst's hold) is drained by
            # whichever worker got the last wake-up while the others sit idle.
            wake_worker_at(timezone.now())
        try:
            # Scheduled before the work: if this worker dies mid-batch, the batch is taken at lease expiry.
            wake_worker_at(timezone.now() + datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS + 1))
            report = deliveries_process(deliveries=claimed, worker_id=worker_id)
        except BaseException:
            _claim_hand_back(claimed, worker_id)
            raise
        deliveries_finished_counted(report.outcomes)
        for key in ("claimed", "done", "failed", "retrying"):
            totals[key] += getattr(report, key)
    # Side effects owed by users created earlier whose first try failed (or whose worker died).
    totals["passwords_returned"] = password_return_retry_due() if settings.FUSION_RETURN_PASSWORD_FIELD else 0
    totals["welcome_emails_sent"] = welcome_emails_send_due()
    totals["email_change_notices_sent"] = email_change_notices_send_due()
    if totals["claimed"]:
        # The tail: catches deliveries stored while this drain was finishing (see webhooks.wakeup).
        wake_worker_at(timezone.now() + TAIL_DELAY)
    if (due := next_due_at()) is not None:
        wake_worker_at(due)
    if (due := outbox_next_due_at()) is not None:
        wake_worker_at(due)  # an outbox change backing off, or a dead worker's lease
    if settings.FUSION_RETURN_PASSWORD_FIELD and (due := password_return_next_due_at()) is not None:
        wake_worker_at(due)  # a Return Password retry backing off wakes the worker when it is due
    return totals


def _claim_hand_back(claimed: list[Delivery], worker_id: str) -> None:
    """A drain failed with a claim in hand. The process lives on (db_worker records the task as failed) and
    its heartbeat would keep renewing the claim's leases, so let go of it now and wake another drain."""
    try:
        Delivery.objects.claims_release(ids=[delivery.pk for delivery in claimed], worker_id=worker_id)
        wake_worker_at(timezone.now())
    except Exception:
        logger.exception("could not hand back %d claimed deliveries (their lease will run out)", len(claimed))


def wake_worker() -> None:
    """Called on commit of each accepted webhook (and of a replay)."""
    if not can_wait():
        # An inline backend (ImmediateBackend: tests, TASK_BACKEND=immediate) runs the drain right here.
        process_deliveries.enqueue()
        return
    if not wake_up_throttled():
        process_deliveries.enqueue()


def wake_worker_on_commit() -> None:
    """Wake the worker once the current transaction commits (at once in autocommit, as on the endpoints).
    Robust: the delivery is stored, so its answer stands even if waking the worker fails (the failure is
    logged; the next webhook's wake-up, a drain's tail, a retry's wake-up or a heartbeat drains it)."""
    transaction.on_commit(wake_worker, robust=True)


def wake_worker_at(when: datetime.datetime) -> None:
    """Make sure a drain runs no later than `when` (one wake-up row, however often this is asked)."""
    if not can_wait():
        return  # inline backends cannot wait; `manage.py deliveries_process` drains by hand
    if wake_up_waiting(process_deliveries, by=when):
        return
    process_deliveries.using(run_after=max(when, timezone.now())).enqueue()


def wake_worker_if_due() -> None:
    """The safety net under every other wake-up, run by each worker's heartbeat: when a delivery is due (or
    a claim's lease runs out) and no wake-up is waiting for it, enqueue one. A wake-up lost for any reason
    (the enqueue failing after a webhook was stored, a drain dying between its claim and its next wake-up,
    a web process's throttle swallowing the last webhook of a burst) then delays a delivery by at most one
    heartbeat instead of leaving it until the next webhook arrives. Two small index queries."""
    if (due := next_due_at()) is not None:
        wake_worker_at(due)
    if (due := outbox_next_due_at()) is not None:
        wake_worker_at(due)
