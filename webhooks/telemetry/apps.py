from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    """What the processes tell each other (worker heartbeats, shared counters) and /healthz, /readyz and
    /metrics, which serve it with whatever the apps above register."""

    name = "webhooks.telemetry"
    label = "telemetry"  # the app label of its tables and migrations, kept from before the move
    verbose_name = "Telemetry (worker heartbeats, counters)"
