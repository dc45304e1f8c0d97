"""Signals of the way in.

`deliveries_queued` (sender=Delivery) is sent once a transaction that put deliveries back in the queue has
committed (a replay): the app wakes its worker on it (WebhooksConfig.ready), so the services that queue
work never import the tasks that drain it.
"""

from django.dispatch import Signal

deliveries_queued = Signal()
