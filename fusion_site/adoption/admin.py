"""Runs in the admin (read-only), and the buttons that start them: "Import users with this tag" on Tags,
"Resync from Ontraport" on Users. Both start a background run (the worker continues it) and link to it.

The Tag and User admins are accounts' own, extended here with the actions: accounts does not know about
runs being started in the background (this app sits above it).
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts import admin as accounts_admin
from accounts.history import actor_of
from accounts.models import Run, Tag, User
from accounts.permissions import can_add_and_change_users, can_change_users
from fusion_site.adoption.runs import run_start
from fusion_site.adoption.schedule import runs_wake_at


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
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
        return False  # runs start from the commands, the actions below, or the schedule

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


def _links(runs: list[Run]) -> SafeString:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:accounts_run_change", args=[r.pk]), str(r)) for r in runs),
    )


admin.site.unregister(Tag)


@admin.register(Tag)
class TagAdmin(accounts_admin.TagAdmin):
    # accounts' actions and ours (its class attribute is typed as a two-item tuple, hence the ignore).
    actions = ("refresh_from_ontraport", "subscribe_in_ontraport", "import_users_with_tag")  # type: ignore[assignment]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return can_add_and_change_users(request)

    @admin.action(description="Import users with this tag", permissions=["import"])
    def import_users_with_tag(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        runs = [
            run_start(
                kind=Run.Kind.IMPORT,
                arguments={"tag_id": tag.pk, "tag_name": tag.name},
                started_from="admin",
                started_by=actor_of(request),
            )
            for tag in queryset.order_by("pk")
        ]
        runs_wake_at()
        for run in runs:
            run.refresh_from_db()
        self.message_user(
            request, format_html("Started in the background: {}", _links(runs)), messages.SUCCESS
        )


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(accounts_admin.UserAdmin):
    actions = ("resync_from_ontraport",)  # accounts' user admin has none of its own

    def has_resync_permission(self, request: HttpRequest) -> bool:
        return can_change_users(request)

    @admin.action(description="Resync from Ontraport", permissions=["resync"])
    def resync_from_ontraport(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        user_ids = sorted(queryset.filter(contact_id__isnull=False).values_list("pk", flat=True))
        unlinked = queryset.filter(contact_id__isnull=True).count()
        if not user_ids:
            self.message_user(
                request, "None of these users is linked to an Ontraport contact.", messages.WARNING
            )
            return
        run = run_start(
            kind=Run.Kind.RESYNC,
            arguments={"user_ids": user_ids},
            started_from="admin",
            started_by=actor_of(request),
        )
        runs_wake_at()
        run.refresh_from_db()
        note = f" ({unlinked} not linked to a contact, left out)" if unlinked else ""
        self.message_user(
            request, format_html("Started in the background: {}{}", _links([run]), note), messages.SUCCESS
        )
