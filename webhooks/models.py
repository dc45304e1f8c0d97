"""The durable log of webhooks: every request that reaches the endpoint with an action is a Delivery."""

import datetime
from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.reasons import FailureReason

# The e-mail a webhook carried (options.email), lower-cased: the admin's search matches on it, by an index.
EMAIL_KEY = Lower(KT("options__email"))


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def ready(self) -> Self:
        """Deliveries a worker may take now: new or due for retry, or claimed by a worker whose lease ran out
        (it died or was killed mid-batch)."""
        now = timezone.now()
        return self.filter(
            Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Delivery.Status.PROCESSING, lease_expires_at__lt=now)
        )

    def claims_release(self, *, ids: list[int], worker_id: str) -> int:
        """Let go of a claim at once (its lease ends now) so any worker may take it again: for a drain that
        failed with the claim in hand. Only rows this worker still holds are touched."""
        return self.filter(pk__in=ids, status=Delivery.Status.PROCESSING, claimed_by=worker_id).update(
            lease_expires_at=timezone.now()
        )

    def give_up_abandoned(self, *, max_attempts: int) -> int:
        """Fail the deliveries whose lease ran out on their last allowed attempt.

        A claim counts an attempt, so a delivery whose worker keeps dying on it (a crash inside the batch,
        a SIGKILL, an error that escapes every handler) would otherwise be re-claimed at each lease expiry
        for ever: after `max_attempts` it fails with a reason the site owner can see and replay."""
        now = timezone.now()
        return self.filter(
            status=Delivery.Status.PROCESSING, lease_expires_at__lt=now, attempts__gte=max_attempts
        ).update(
            status=Delivery.Status.FAILED,
            reason=FailureReason.GAVE_UP,
            message=f"gave up after {max_attempts} attempts: the worker's lease ran out on each "
            "(it crashed or was stopped while applying this contact)",
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )

    def claim(
        self,
        *,
        worker_id: str,
        limit: int,
        lease: datetime.timedelta,
        chunk: int = 1,
        coalesce: datetime.timedelta = datetime.timedelta(0),
        due_before: datetime.datetime | None = None,
    ) -> list["Delivery"]:
        """Take every ready delivery of the contacts that the oldest `limit` ready rows name (with
        `due_before`, only rows due before then name contacts: a burst's hold).

        Deliveries are taken for whole groups of `chunk` contacts (one Ontraport call each). The contacts
        of a last, partial group are left for later while its oldest delivery is younger than `coalesce`:
        during a burst, waiting a second for a full group of 50 costs far less than spending one of
        Ontraport's 180 calls a minute on a handful of contacts.

        On PostgreSQL the ready rows are locked with SKIP LOCKED, so concurrent workers take disjoint sets
        without waiting on each other. SQLite ignores SELECT FOR UPDATE, but the settings open every
        transaction IMMEDIATE (a write lock at BEGIN), so the select-then-update below is one exclusive step.
        """
        from django.db import transaction

        seeds = self.ready() if due_before is None else self.ready().filter(next_attempt_at__lt=due_before)
        with transaction.atomic(using=self.db):
            rows = list(
                seeds.order_by("id")
                .select_for_update(skip_locked=True)
                .values_list("id", "contact_id", "received_at")[:limit]
            )
            contacts = _contacts_in_whole_chunks(rows, chunk, young_after=timezone.now() - coalesce)
            if not contacts:
                return []
            # Every ready delivery of those contacts, not only those among the first `limit` rows: a
            # contact's later webhooks are merged into this fetch instead of costing another one.
            ids = list(
                self.ready()
                .filter(contact_id__in=contacts)
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
            )
            now = timezone.now()
            self.filter(id__in=ids).update(
                status=Delivery.Status.PROCESSING,
                claimed_by=worker_id,
                lease_expires_at=now + lease,
                attempts=models.F("attempts") + 1,
                updated_at=now,
            )
        return list(self.filter(id__in=ids, claimed_by=worker_id).order_by("id"))


def _contacts_in_whole_chunks(
    rows: list[tuple[int, int | None, datetime.datetime]], chunk: int, young_after: datetime.datetime
) -> list[int | None]:
    """The contacts of `rows` (id, contact_id, received_at), in order, that fill whole chunks, plus those
    of the partial last chunk unless all of its deliveries arrived after `young_after`."""
    first_seen: dict[int | None, datetime.datetime] = {}
    for _, contact_id, received_at in rows:
        first_seen.setdefault(contact_id, received_at)
    contacts = list(first_seen)
    whole = len(contacts) - len(contacts) % chunk
    partial = contacts[whole:]
    if partial and min(first_seen[c] for c in partial) > young_after:
        return contacts[:whole]
    return contacts


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # stored, waiting for a worker (or for its next attempt)
        PROCESSING = "processing", "Processing"  # claimed by a worker until lease_expires_at
        DONE = "done", "Done"
        FAILED = "failed", "Failed"  # permanent failure, or transient ones past FUSION_MAX_ATTEMPTS
        REJECTED = "rejected", "Rejected"  # answered 400: recorded so the site owner sees it, never processed

    # Work still to do: stored and waiting for a worker (or for its next attempt), or claimed by one. Neither
    # pruned nor replayed; counted as the queue's depth; the only rows of the partial index below.
    WAITING_STATUSES = (Status.PENDING, Status.PROCESSING)

    class Action(models.TextChoices):
        # What a stored request asked for. The actions that apply a contact are the accounts service's
        # (accounts.services.contacts_apply.SyncAction, which the endpoint and replay use); a choices
        # class cannot extend an enum, so they are named here too and a test holds the two together.
        ADD = "add", "add"
        UPDATE = "update", "update"
        UPDATE_TAGS = "update_tags", "update_tags"
        TEST = "test", "test"
        INVALID = "invalid", "invalid"  # the request's wpf_action was not one of the above

    received_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16, choices=Action.choices)
    contact_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    # What the webhook asked for beyond its action: {"role": str, "send_notification": bool, "email": str}.
    options = models.JSONField(default=dict, blank=True)
    method = models.CharField(max_length=8)
    path = models.TextField(help_text="Request path and query string, with the access key masked.")
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(
        max_length=32,
        blank=True,
        choices=FailureReason.choices,
        help_text="Machine-readable reason of a rejection or failure (accounts.reasons.FailureReason).",
    )
    message = models.TextField(blank=True, help_text="The outcome, in words.")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        IMPORT = "import", "Import"
        RESYNC = "resync", "Resync"
        SWEEP = "sweep", "Sweep"

    # Where the row comes from: a webhook, or a run (import, resync, sweep) that logs here what it changed
    # or failed on, already finished (a worker never claims those).
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK)
    run = models.ForeignKey(
        "adoption.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    # The admin who sent it from the Ontraport page's "Send a test webhook" (None: Ontraport sent it, or a
    # run logged it: the run says who started it). Who replayed it is in its attempt log.
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # Made for an arrival meter that read MAX(id) of one source; the arrival rate is now counted on
            # (source, received_at) below, and no query of the site needs this one (dropping it takes a
            # migration).
            models.Index(fields=["source", "id"], name="webhooks_delivery_source_idx"),
            # The worker's claim query and the queue's figures: waiting rows by due time. Finished rows are
            # the bulk of the table and are left out where the database supports partial indexes. The
            # statuses are WAITING_STATUSES' (a Meta cannot name its model's attributes; a test holds the two
            # together).
            models.Index(
                fields=["status", "next_attempt_at"],
                name="webhooks_delivery_ready_idx",
                condition=Q(status__in=["pending", "processing"]),
            ),
            # The admin's filters and the Ontraport page's last 24 hours: each filter with the date order
            # the log is read in.
            models.Index(fields=["received_at"], name="webhooks_delivery_received_idx"),
            models.Index(fields=["status", "received_at"], name="webhooks_delivery_status_idx"),
            models.Index(fields=["action", "received_at"], name="webhooks_delivery_action_idx"),
            models.Index(fields=["reason", "received_at"], name="webhooks_delivery_reason_idx"),
            models.Index(fields=["source", "received_at"], name="webhooks_delivery_src_recv_idx"),
            models.Index(EMAIL_KEY, name="webhooks_delivery_email_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} contact {self.contact_id} ({self.status})"

    @property
    def role(self) -> str:
        return str(self.options.get("role", ""))

    @property
    def send_notification(self) -> bool:
        return bool(self.options.get("send_notification", False))


class DeliveryAttempt(models.Model):
    """One attempt at a delivery and its outcome, as the worker recorded it (webhooks.services.outcomes),
    or a manual replay that put it back in the queue (webhooks.services.replay): a delivery's page lists
    every one, so "retried 3 times, replayed by alice, then done" can be read, not guessed."""

    class Kind(models.TextChoices):
        ATTEMPT = "attempt", "attempt"
        REPLAY = "replay", "manual replay"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField(
        help_text="The delivery's attempts count then (a replay restarts it)."
    )
    at = models.DateTimeField()
    worker = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Delivery.Status.choices)
    reason = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ATTEMPT)
    # Who replayed it (a replay row; None for one from the deliveries_replay command).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["delivery_id", "id"]

    def __str__(self) -> str:
        return f"#{self.delivery_id} attempt {self.number}: {self.status}"


class WrongKeyWindow(models.Model):
    """How many wrong access keys one address sent in its current window (webhooks.services.throttle),
    counted in the database when the cache is per-process, so every web process on every machine counts
    together."""

    source = models.CharField(max_length=64, unique=True, help_text="The address (or 'unknown').")
    started_at = models.FloatField(help_text="When the window began (Unix time).")
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.source}: {self.count} wrong keys"
