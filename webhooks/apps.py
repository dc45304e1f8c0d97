"""The way in as an app: on start-up it registers what it reports to telemetry and wakes its worker for
work queued elsewhere."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Ontraport webhooks"

    def ready(self) -> None:
        from accounts.signals import outbox_queued
        from webhooks import checks  # noqa: F401 - registers the "no worker is running" check
        from webhooks.reporting import reporting_connect
        from webhooks.signals import deliveries_queued

        # Work queued elsewhere wakes the worker: the site's changes for Ontraport (accounts.services.outbox)
        # and deliveries put back in the queue (webhooks.services.replay).
        outbox_queued.connect(_work_queued, dispatch_uid="webhooks.wake_worker_for_outbox")
        deliveries_queued.connect(_work_queued, dispatch_uid="webhooks.wake_worker_for_deliveries")
        reporting_connect()


def _work_queued(**kwargs: object) -> None:
    from webhooks.tasks import wake_worker

    wake_worker()
