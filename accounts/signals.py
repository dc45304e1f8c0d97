"""Signals other features hang off (like WP Fusion's wpf_tags_applied / wpf_tags_removed).

Both are sent with sender=User, user=<the user> and tag_ids=<frozenset of Ontraport tag ids that changed>,
inside the transaction that changed them.
"""

from django.dispatch import Signal

tags_applied = Signal()
tags_removed = Signal()
