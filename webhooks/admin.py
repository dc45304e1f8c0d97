"""The webhook log in the admin: read-only, searchable, and a "replay" button (webhooks.replay).

The log is evidence of what Ontraport sent and what became of it, so no field can be edited and only
superusers may delete rows. Stored paths have the access key masked when recorded; they are masked again
when shown, so no row stored any other way (an import, an older version) can reveal a key here.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from fusion_site.masking import mask_text
from telemetry.selectors import workers_health
from webhooks.claiming import can_wait
from webhooks.models import Delivery
from webhooks.replay import deliveries_replay

MESSAGE_PREVIEW_CHARS = 80


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "received_at",
        "action",
        "contact_id",
        "status",
        "reason",
        "attempts",
        "user_link",
        "message_preview",
    )
    list_display_links = ("id", "received_at")
    list_filter = ("status", "action", "reason", "source")
    # contact_id__exact is skipped by the admin for terms that are not whole numbers; e-mails are matched
    # on the linked user and on the e-mail the webhook itself carried (options.email).
    search_fields = ("contact_id__exact", "user__email", "options__email")
    search_help_text = "A contact id, or (part of) an e-mail address."
    date_hierarchy = "received_at"
    list_select_related = ("user",)
    actions = ("replay",)
    fields = (
        "received_at",
        "action",
        "contact_id",
        "options",
        "method",
        "masked_path",
        "source_ip",
        "status",
        "reason",
        "message",
        "attempts",
        "next_attempt_at",
        "claimed_by",
        "lease_expires_at",
        "user_link",
        "updated_at",
        "finished_at",
    )
    readonly_fields = fields

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The log is where the site owner looks when webhooks seem to do nothing: say so when no worker
        # is alive (the deliveries are stored and wait for one).
        if request.method == "GET" and not (health := workers_health()).ok and can_wait():
            self.message_user(request, health.problem, messages.WARNING)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # Replaying edits no field, but it changes rows: the model's change permission is the right gate.
        return bool(request.user.has_perm("webhooks.change_delivery"))

    @admin.display(description="path")
    def masked_path(self, delivery: Delivery) -> str:
        return mask_text(delivery.path)

    @admin.display(description="user", ordering="user__username")
    def user_link(self, delivery: Delivery) -> SafeString | str:
        if delivery.user is None:
            return "—"
        url = reverse("admin:accounts_user_change", args=[delivery.user.pk])
        return format_html('<a href="{}">{}</a>', url, delivery.user.get_username())

    @admin.display(description="message")
    def message_preview(self, delivery: Delivery) -> str:
        return Truncator(delivery.message).chars(MESSAGE_PREVIEW_CHARS)

    @admin.action(description="Replay selected deliveries", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = queryset.count()
        replayed = deliveries_replay(queryset=queryset, by=request.user.get_username())
        skipped = selected - replayed
        text = f"Replayed {replayed} of {selected} selected deliveries."
        if skipped:
            text += (
                f" Skipped {skipped}: only done or failed add, update and update_tags deliveries "
                "with a contact id can be replayed."
            )
        self.message_user(request, text, messages.SUCCESS if replayed else messages.WARNING)
