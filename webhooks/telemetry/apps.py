from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "webhooks.telemetry"
    label = "telemetry"  # the app label of its tables and migrations, kept from before the move
    verbose_name = "Telemetry (worker heartbeats, counters)"
