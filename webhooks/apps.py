from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Ontraport webhooks"

    def ready(self) -> None:
        from accounts.signals import outbox_queued
        from webhooks.reporting import reporting_connect

        outbox_queued.connect(_outbox_queued, dispatch_uid="webhooks.wake_worker_for_outbox")
        reporting_connect()


def _outbox_queued(**kwargs: object) -> None:
    """The site queued changes for Ontraport (accounts.services.outbox): the same worker sends them."""
    from webhooks.tasks import wake_worker

    wake_worker()
