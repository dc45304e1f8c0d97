from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from webhooks.telemetry.health import healthz, readyz
from webhooks.telemetry.metrics import metrics
from webhooks.views import ontraport_events, ontraport_webhook

urlpatterns = [
    # `/?wpf_action=...` (the seed's URLs) and any other path carrying wpf_action are answered by
    # webhooks.middleware before URL routing; this is the explicit endpoint.
    path("webhooks/ontraport/", ontraport_webhook, name="ontraport-webhook"),
    # Operations (docs/operations.md): liveness, readiness, Prometheus.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    # The Ontraport page (console app) and the events of Ontraport's tag subscriptions.
    path("webhooks/ontraport/events/", ontraport_events, name="ontraport-events"),
    path("admin/ontraport/", include("webhooks.console.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
]
