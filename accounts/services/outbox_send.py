"""Sending the outbox: waiting OutboxChange rows to Ontraport, in as few calls as Ontraport allows.

A send takes (leases) up to OUTBOX_BATCH waiting rows, merges each user's rows into one net change, makes
or updates contacts, then applies the tag changes: one ``PUT /objects/tag`` (add) or ``DELETE`` (remove)
per tag list and 50 contacts, so N users gaining the same tags cost ceil(N/50) calls. Every row ends sent
(with what was sent, to which contact), waiting again (transient trouble, backing off) or failed (with the
reason, replayable from the admin).

Killed mid-send, a worker leaves its rows leased; they are sent again when the lease runs out. That is safe
because every call sent is idempotent in its effect: adding a tag a contact has, or removing one it lacks,
changes nothing (and so fires no Ontraport rule), saveorupdate matches the contact by e-mail, and a field
set twice holds the same value. Nothing is lost, and nothing is duplicated in Ontraport.
"""

import datetime
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Min, Q
from django.utils import timezone

from accounts.models import OutboxChange, User
from ontraport_client import PAGE_SIZE, OntraportClient, OntraportError

logger = logging.getLogger(__name__)

# Users a send takes: one tag call's worth when they share a tag list, so the budget is looked at before
# every call (see outbox_send) and webhooks never wait behind a long batch.
OUTBOX_BATCH = PAGE_SIZE
NO_CONTACT = "the user has no Ontraport contact: link one, or set FUSION_PUSH_NEW_USERS"


@dataclass
class OutboxReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    calls: int = 0
    sent_rows: list[OutboxChange] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.retrying


@dataclass
class _Net:
    """One user's waiting rows merged: what its contact must become."""

    rows: list[OutboxChange]
    added: set[int] = field(default_factory=set)
    removed: set[int] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)
    create_contact: bool = False
    contact_id: int | None = None
    # None while fine; else (transient?, message) for every row of the user.
    trouble: tuple[bool, str] | None = None
    done: list[str] = field(default_factory=list)


def coalesce_window() -> datetime.timedelta:
    """The deliveries' FUSION_COALESCE_SECONDS: half of it is the quiet gap after which a partial group of
    changes goes, five times it the longest a change waits for its group to fill (0: never wait)."""
    return datetime.timedelta(seconds=settings.FUSION_COALESCE_SECONDS)


def _partial_group_waits(*, oldest: datetime.datetime, now: datetime.datetime) -> bool:
    """Should a group of fewer than 50 users wait for more? While changes keep coming (the newest change
    of all is younger than the quiet gap) yes, up to five coalesce windows: a loop tagging 10,000 users
    one transaction at a time then fills every call but the last. A lone admin edit goes after the gap."""
    window = coalesce_window()
    if not window or now - oldest >= 5 * window:
        return False
    newest = OutboxChange.objects.order_by("-id").values_list("created_at", flat=True).first()
    return newest is not None and now - newest < window / 2


def outbox_claim(*, worker_id: str, limit: int = OUTBOX_BATCH) -> list[OutboxChange]:
    """Lease up to `limit` ready rows and every other ready row of the same users (a user's changes are
    merged into one send). PostgreSQL: SKIP LOCKED, so workers take disjoint sets; SQLite: the IMMEDIATE
    transaction makes the select-then-update one exclusive step.

    Whole groups of 50 users are taken while changes keep coming; a last, partial group waits for them to
    stop (see _partial_group_waits): a call carrying 50 contacts costs the same one of Ontraport's 180 a
    minute as a call carrying three."""
    lease = datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS)
    with transaction.atomic():
        seeds = list(
            OutboxChange.objects.ready()
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("user_id", "created_at")[:limit]
        )
        users = list(dict.fromkeys(user_id for user_id, _ in seeds))
        now = timezone.now()
        if seeds and len(users) % PAGE_SIZE:
            oldest = min(created_at for _, created_at in seeds)
            if _partial_group_waits(oldest=oldest, now=now):
                users = users[: len(users) - len(users) % PAGE_SIZE]
        if not users:
            return []
        ids = list(
            OutboxChange.objects.ready()
            .filter(user_id__in=set(users))
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        now = timezone.now()
        OutboxChange.objects.filter(id__in=ids).update(
            status=OutboxChange.Status.SENDING,
            claimed_by=worker_id,
            lease_expires_at=now + lease,
            attempts=models.F("attempts") + 1,
        )
    return list(OutboxChange.objects.filter(id__in=ids, claimed_by=worker_id).order_by("id"))


def outbox_send(*, client: OntraportClient, worker_id: str, limit: int = OUTBOX_BATCH) -> OutboxReport:
    """Send one batch of waiting changes; returns what became of them (empty when none was waiting, or
    when the client's budget is down to its reserve: the changes wait, webhooks go first)."""
    if client.pacer.would_wait():
        return OutboxReport()
    rows = outbox_claim(worker_id=worker_id, limit=limit)
    report = OutboxReport()
    if not rows:
        return report
    calls_before = client.calls_made
    nets = _merged(rows)
    users = User.objects.in_bulk(list(nets))
    for user_id, net in nets.items():
        user = users.get(user_id)
        if user is None:  # deleted since: its rows went with it (CASCADE); nothing to send
            continue
        _contact_ready(client=client, user=user, net=net)
    for adding in (True, False):
        _tags_send(client=client, nets=[net for net in nets.values() if net.trouble is None], adding=adding)
    report.calls = client.calls_made - calls_before
    _outcomes_write(nets=nets, worker_id=worker_id, report=report)
    _report_logged(report)
    return report


def _merged(rows: list[OutboxChange]) -> dict[int, _Net]:
    nets: dict[int, _Net] = {}
    for row in rows:  # in id order: a later change of the same tag wins
        net = nets.setdefault(row.user_id, _Net(rows=[]))
        net.rows.append(row)
        added, removed = set(row.tags_added), set(row.tags_removed)
        net.added = (net.added - removed) | added
        net.removed = (net.removed - added) | removed
        net.fields.update(row.fields)
        net.create_contact |= row.create_contact
    return nets


def _contact_ready(*, client: OntraportClient, user: User, net: _Net) -> None:
    """Make sure the user has a contact (made or found by e-mail) and carries the fields to send."""
    net.contact_id = user.contact_id
    try:
        if net.contact_id is None:
            if not (net.create_contact or settings.FUSION_PUSH_NEW_USERS):
                net.trouble = (
                    False,
                    "the user has no Ontraport contact: link one, or set FUSION_PUSH_NEW_USERS",
                )
                return
            if user.is_protected:
                net.trouble = (False, "staff and superusers get no contact from the site: link one by hand")
                return
            if not user.email:
                net.trouble = (False, "the user has no e-mail, which a new contact is matched on")
                return
            fields = {"email": user.email, **net.fields}
            net.contact_id = client.contact_save_or_update(fields)
            _link(user=user, contact_id=net.contact_id, net=net)
            net.done.append(f"contact {net.contact_id} made or found by e-mail")
        elif net.fields:
            client.update_contact(net.contact_id, net.fields)
            net.done.append("set " + ", ".join(sorted(net.fields)))
    except OntraportError as error:
        net.trouble = (error.transient, f"Ontraport: {error}")


def _link(*, user: User, contact_id: int, net: _Net) -> None:
    """Link the user to the contact saveorupdate answered with, unless another user holds it (never two
    users on one contact: docs/identity.md). Committed at once, so a worker killed after this call does not
    ask again (it would find the same contact by e-mail anyway)."""
    try:
        with transaction.atomic():
            linked = User.objects.filter(pk=user.pk, contact_id__isnull=True).update(contact_id=contact_id)
    except IntegrityError:
        net.trouble = (False, f"contact {contact_id} (found by this e-mail) is linked to another user")
        return
    if not linked:
        user.refresh_from_db(fields=["contact_id"])
        if user.contact_id != contact_id:
            net.trouble = (False, f"the user was linked to contact {user.contact_id} meanwhile; not sent")
            return
    user.contact_id = contact_id


def _tags_send(*, client: OntraportClient, nets: list[_Net], adding: bool) -> None:
    """One call per tag list and 50 contacts: contacts whose net change is the same list share calls."""
    groups: dict[frozenset[int], list[_Net]] = defaultdict(list)
    for net in nets:
        tags = frozenset(net.added if adding else net.removed)
        if tags and net.contact_id is not None:
            groups[tags].append(net)
    for tags, members in groups.items():
        for start in range(0, len(members), PAGE_SIZE):
            chunk = members[start : start + PAGE_SIZE]
            contact_ids = [net.contact_id for net in chunk if net.contact_id is not None]
            try:
                if adding:
                    client.add_tags(contact_ids, tags)
                else:
                    client.remove_tags(contact_ids, tags)
            except OntraportError as error:
                for net in chunk:
                    net.trouble = (error.transient, f"Ontraport: {error}")
                continue
            listed = ", ".join(str(tag) for tag in sorted(tags))
            for net in chunk:
                net.done.append(f"{'added' if adding else 'removed'} tags {listed}")


def _outcomes_write(*, nets: dict[int, _Net], worker_id: str, report: OutboxReport) -> None:
    """Written only to rows this worker still holds: a slow worker whose lease was taken over must not
    overwrite the rescuer's result."""
    now = timezone.now()
    for net in nets.values():
        ids = [row.pk for row in net.rows]
        held = OutboxChange.objects.filter(
            pk__in=ids, claimed_by=worker_id, status=OutboxChange.Status.SENDING
        )
        attempts = max(row.attempts for row in net.rows)
        if net.trouble is None:
            message = f"sent to contact {net.contact_id}: " + (
                "; ".join(net.done) or "nothing left to change"
            )
            held.update(
                status=OutboxChange.Status.SENT,
                contact_id=net.contact_id,
                message=message,
                sent_at=now,
                lease_expires_at=None,
            )
            report.sent += len(ids)
            report.sent_rows.extend(net.rows)
            continue
        transient, message = net.trouble
        if transient and attempts < settings.FUSION_MAX_ATTEMPTS:
            delay = min(
                settings.FUSION_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.FUSION_RETRY_MAX_SECONDS
            )
            due = now + datetime.timedelta(seconds=delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
            held.update(
                status=OutboxChange.Status.PENDING,
                next_attempt_at=due,
                message=f"attempt {attempts} failed, retrying: {message}",
                lease_expires_at=None,
                contact_id=net.contact_id,
            )
            report.retrying += len(ids)
            logger.warning("outbox: changes %s wait for another attempt: %s", ids, message)
            continue
        if transient:
            message = f"gave up after {attempts} attempts: {message}"
        held.update(
            status=OutboxChange.Status.FAILED,
            message=message,
            lease_expires_at=None,
            contact_id=net.contact_id,
        )
        report.failed += len(ids)
        logger.warning("outbox: changes %s failed: %s", ids, message)


def _report_logged(report: OutboxReport) -> None:
    if report.sent:
        logger.info("outbox: %d changes sent in %d Ontraport calls", report.sent, report.calls)


def outbox_next_due_at() -> datetime.datetime | None:
    """When the earliest waiting change is due: a retry's time or a lease's expiry (the worker's wake-up)."""
    due = OutboxChange.objects.filter(
        status__in=[OutboxChange.Status.PENDING, OutboxChange.Status.SENDING]
    ).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=OutboxChange.Status.PENDING)),
        lease=Min("lease_expires_at", filter=Q(status=OutboxChange.Status.SENDING)),
    )
    retry, now = due["retry"], timezone.now()
    if retry is not None and retry <= now:
        # Ready, but perhaps held to fill a group of 50: look again shortly rather than at once.
        retry = now + max(coalesce_window() / 4, datetime.timedelta(seconds=0.1))
    times = [t for t in (retry, due["lease"]) if t is not None]
    return min(times) if times else None


def outbox_replay(*, ids: list[int]) -> int:
    """Send failed changes again (the admin's action): waiting now, attempts counted from zero."""
    return OutboxChange.objects.filter(pk__in=ids, status=OutboxChange.Status.FAILED).update(
        status=OutboxChange.Status.PENDING, next_attempt_at=timezone.now(), attempts=0, claimed_by=""
    )
