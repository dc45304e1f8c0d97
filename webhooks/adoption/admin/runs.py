"""Runs in the admin (read-only): imports, resyncs and sweeps, with their counts and a link to what each
changed in the deliveries log."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from webhooks.adoption.models import Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin[Run]):
    list_display = (
        "id",
        "kind",
        "what",
        "status",
        "created",
        "linked",
        "updated",
        "unchanged",
        "skipped",
        "calls",
        "started_by",
        "started_from",
        "created_at",
        "finished_at",
    )
    list_display_links = ("id", "kind")
    list_filter = ("kind", "state", "started_from")
    readonly_fields = ("what", "status", "deliveries_link")
    fields = (
        "kind",
        "what",
        "arguments",
        "status",
        "message",
        "started_by",
        "started_from",
        ("total", "processed", "cursor", "calls"),
        ("created", "linked", "updated", "unchanged", "skipped"),
        "deliveries_link",
        ("created_at", "due_at", "started_at", "finished_at"),
        ("lease_owner", "lease_expires_at"),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Run | None = None) -> list[str]:
        return [*self.readonly_fields, *(f.name for f in Run._meta.fields)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs start from the commands, the Tags and Users pages' actions, or the schedule

    def has_change_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False

    @admin.display(description="of")
    def what(self, run: Run) -> str:
        return run.describe_arguments()

    @admin.display(description="state", ordering="state")
    def status(self, run: Run) -> str:
        return run.status_text()

    @admin.display(description="in the deliveries log")
    def deliveries_link(self, run: Run) -> SafeString:
        url = reverse("admin:webhooks_delivery_changelist") + f"?run__id__exact={run.pk}"
        return format_html('<a href="{}">what this run changed or failed on</a>', url)


def run_links(runs: list[Run]) -> SafeString:
    """Links to the runs' pages, for the message that says they started."""
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:adoption_run_change", args=[r.pk]), str(r)) for r in runs),
    )
