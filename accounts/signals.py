"""Signals other features hang off (like WP Fusion's wpf_tags_applied / wpf_tags_removed).

Both are sent with sender=User, user=<the user> and tag_ids=<frozenset of Ontraport tag ids that changed>,
inside the transaction that changed them.
"""

from django.dispatch import Signal

tags_applied = Signal()
tags_removed = Signal()

# Sent (sender=OutboxChange) after a transaction that queued changes for Ontraport commits: the webhooks
# app wakes its worker on it (accounts never imports webhooks).
outbox_queued = Signal()

# Sent (sender=OntraportClient) after every answer of an Ontraport request, with what=<the endpoint called>
# and status=<the HTTP status, None when no answer came>: webhooks counts them for /metrics (accounts never
# imports telemetry).
ontraport_answered = Signal()
