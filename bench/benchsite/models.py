"""FloorRecord: a row shaped like webhooks.Delivery (same columns and indexes), written by the floor view."""

from django.db import models
from django.db.models import Q
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
    user_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="benchsite_floor_ready_idx",
                condition=Q(status__in=["pending", "processing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"floor #{self.pk}"
