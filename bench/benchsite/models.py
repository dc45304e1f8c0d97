"""FloorRecord: a row shaped like webhooks.Delivery (same columns and indexes), written by the floor view.

Keep it so: the floor is the least a receiver that stores a Delivery can do, and every index of the
Delivery table is part of that work (each INSERT updates all of them). It drifted once (2 indexes against
the Delivery's 11), which made the webhook look 25 % slower than "the floor" for work the floor skipped.
"""

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Lower
from django.utils import timezone


class FloorRecord(models.Model):
    received_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16)
    contact_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    options = models.JSONField(default=dict, blank=True)
    method = models.CharField(max_length=8)
    path = models.TextField()
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=16, default="pending")
    reason = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # Delivery.user: a foreign key
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, default="webhook")
    run_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # Delivery.run: a foreign key
    # Delivery.started_by: a foreign key (the admin who sent a test webhook)
    started_by_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        # Delivery's indexes (webhooks.models.Delivery.Meta), one for one.
        indexes = [
            models.Index(fields=["source", "id"], name="benchsite_floor_source_idx"),
            models.Index(
                fields=["status", "next_attempt_at"],
                name="benchsite_floor_ready_idx",
                condition=Q(status__in=["pending", "processing"]),
            ),
            models.Index(fields=["received_at"], name="benchsite_floor_received_idx"),
            models.Index(fields=["status", "received_at"], name="benchsite_floor_status_idx"),
            models.Index(fields=["action", "received_at"], name="benchsite_floor_action_idx"),
            models.Index(fields=["reason", "received_at"], name="benchsite_floor_reason_idx"),
            models.Index(fields=["source", "received_at"], name="benchsite_floor_src_recv_idx"),
            models.Index(Lower(KT("options__email")), name="benchsite_floor_email_idx"),
        ]

    def __str__(self) -> str:
        return f"floor #{self.pk}"
