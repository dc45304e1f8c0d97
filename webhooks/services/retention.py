"""Pruning the webhook log: finished deliveries are evidence for a while, then only weight."""

from django.db import transaction

from webhooks.models import Delivery
from webhooks.selectors import deliveries_prunable

# Rows deleted per transaction: on SQLite a delete holds the one write lock, so a big prune in one
# statement would make incoming webhooks wait on it; small batches let them in between.
DELETE_BATCH = 1000


def deliveries_prune(*, older_than_days: int) -> int:
    """Delete the prunable deliveries in batches. Returns how many were deleted."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                deliveries_prunable(older_than_days=older_than_days)
                .order_by("id")
                .values_list("id", flat=True)[:DELETE_BATCH]
            )
            if not ids:
                return deleted
            # Counted by model: the deliveries' attempt rows (DeliveryAttempt) go with them.
            deleted += Delivery.objects.filter(id__in=ids).delete()[1].get(Delivery._meta.label, 0)
