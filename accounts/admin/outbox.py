"""Changes sent to Ontraport: the outbox's log (accounts.services.outbox), read-only, and "Send again" for
the failed ones (accounts.services.outbox_send)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.history import actor_of, history_record
from accounts.models import OutboxChange
from accounts.services.outbox_send import outbox_replay


@admin.register(OutboxChange)
class OutboxChangeAdmin(admin.ModelAdmin[OutboxChange]):
    """The way out's log: every change the site sent (or could not send) to Ontraport, with the reason."""

    list_display = ("id", "user", "what", "status", "contact_id", "attempts", "created_at", "sent_at")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "contact_id__exact")
    readonly_fields = (
        "user",
        "what",
        "status",
        "message",
        "contact_id",
        "attempts",
        "next_attempt_at",
        "created_at",
        "created_by",
        "sent_at",
    )
    fields = readonly_fields
    actions = ("replay",)

    @admin.display(description="change")
    def what(self, change: OutboxChange) -> str:
        return change.describe()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # changes are made by the site (accounts.services.outbox), never typed in

    def has_delete_permission(self, request: HttpRequest, obj: OutboxChange | None = None) -> bool:
        return False  # nothing accepted is ever lost: a failed change stays, to be read or replayed

    @admin.action(description="Send again (failed changes)", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[OutboxChange]) -> None:
        count = outbox_replay(ids=list(queryset.values_list("pk", flat=True)))
        history_record(
            actor=actor_of(request), objects=list(queryset), message=f"Ontraport: {count} changes sent again"
        )
        self.message_user(request, f"{count} failed changes wait to be sent again.")
