from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "fusion_site.telemetry"
    verbose_name = "Telemetry (worker heartbeats, counters)"

    def ready(self) -> None:
        from fusion_site.telemetry import checks  # noqa: F401 - registers the system check
