from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "telemetry"
    verbose_name = "Telemetry (worker heartbeats, counters)"

    def ready(self) -> None:
        from telemetry import checks  # noqa: F401 - registers the system check
