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
