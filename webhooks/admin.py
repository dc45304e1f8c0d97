"""The webhook log in the admin: read-only, searchable, and a "replay" button (webhooks.services.replay).

The log is evidence of what Ontraport sent and what became of it, so no field can be edited and only
superusers may delete rows. Stored paths have the access key masked when recorded; they are masked again
when shown, so no row stored any other way (an import, an older version) can reveal a key here.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.db.models.lookups import Exact
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from accounts.admin.shared import breakable
from accounts.history import actor_of
from accounts.identity import email_key
from accounts.reasons import FailureReason
from ontraport_client import contact_app_url
from webhooks.masking import mask_text
from webhooks.models import EMAIL_KEY, Delivery, DeliveryAttempt
from webhooks.params import CONTACT_ID_MAX
from webhooks.permissions import can_replay_deliveries
from webhooks.reason_advice import reason_advice
from webhooks.selectors import deliveries_replayable
from webhooks.services.replay import NOT_REPLAYABLE, deliveries_replay

MESSAGE_PREVIEW_CHARS = 140  # the column wraps: room for what changed (fields, tags added and removed)
SEARCH_MAX_IDS = 1000  # users (or carried e-mails) a search looks at: a search term is not a report


class ReasonFilter(admin.SimpleListFilter):
    """The reasons the site gives (accounts.reasons.FailureReason), listed without reading the log."""

    title = "reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(reason, f"{reason} — {label}") for reason, label in FailureReason.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = (
        "id",
        "received",
        "source_label",
        "action",
        "contact",
        "status_badge",
        "user_link",
        "message_preview",
    )
    list_display_links = ("id",)  # one link a row: each costs a URL with the preserved filters
    # Each filter has an index (status, action, reason, source, received_at: see Delivery.Meta), and none of
    # them reads the table to list its choices: at 100,000 rows the stock reason filter's SELECT DISTINCT and
    # the date hierarchy's per-month scan cost seconds on SQLite (bench/admin.py).
    list_filter = ("status", "action", ReasonFilter, "source", ("received_at", admin.DateFieldListFilter))
    list_per_page = 50
    # Newest first: with a filter, its (filter, received_at) index gives the rows in order (no sort).
    ordering = ("-received_at",)
    show_full_result_count = False  # one COUNT of the filtered rows, not a second one of the whole table
    change_form_template = "admin/webhooks/delivery/change_form.html"

    class Media:
        css = {"all": ["webhooks/admin.css"]}

    # See get_search_results: a contact id, a whole e-mail address or part of a user's e-mail.
    search_fields = ("contact_id__exact",)
    search_help_text = "A contact id, or an e-mail address (part of one finds users' deliveries)."
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
        "started_by",
        "updated_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str
    ) -> tuple[QuerySet[Delivery], bool]:
        """Every branch is served by an index: a number is a contact id; an e-mail address is matched (any
        case) on the linked user and on the address the webhook carried (options.email, an expression
        index); other text finds the users whose e-mail contains it (one scan of users, not of the log)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isascii() and term.isdigit():
            if int(term) > CONTACT_ID_MAX:
                return queryset.none(), False
            return queryset.filter(contact_id=int(term)), False
        users = get_user_model().objects
        if "@" in term:
            # Two small id lists first: an OR of two subqueries is read by scanning the log, an OR of two
            # lists by two index lookups.
            owners = list(users.filter(email_key=email_key(term)).values_list("pk", flat=True))
            carried = Delivery.objects.filter(Exact(EMAIL_KEY, term.lower())).order_by("-id")
            carried_ids = list(carried.values_list("pk", flat=True)[:SEARCH_MAX_IDS])
            return queryset.filter(Q(user_id__in=owners) | Q(pk__in=carried_ids)), False
        matching = users.filter(email__icontains=term).values_list("pk", flat=True)[:SEARCH_MAX_IDS]
        return queryset.filter(user_id__in=list(matching)), False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # Replaying edits no field of the log, but it re-applies contacts to users (an add may create one).
        return can_replay_deliveries(request)

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: Delivery) -> SafeString:
        # The attempts and the reason under the badge rather than in columns of their own: the list fits
        # 1280 px with the sidebar and the filters open.
        badge = format_html(
            '<span class="badge badge-{}">{}</span>', delivery.status, delivery.get_status_display()
        )
        tries = delivery.attempts
        if tries != 1:
            badge = format_html(
                '{} <span class="tries">{} tr{}</span>', badge, tries, "y" if tries == 1 else "ies"
            )
        if not delivery.reason:
            return badge
        return format_html('{}<br><code class="reason">{}</code>', badge, delivery.reason)

    @admin.display(description="contact", ordering="contact_id")
    def contact(self, delivery: Delivery) -> int | None:
        return delivery.contact_id

    @admin.display(description="received", ordering="received_at")
    def received(self, delivery: Delivery) -> str:
        return f"{timezone.localtime(delivery.received_at):%b %d %H:%M:%S}"

    def get_urls(self) -> list[URLPattern]:
        replay = path(
            "<int:delivery_id>/replay/",
            self.admin_site.admin_view(require_POST(self.replay_one)),
            name="webhooks_delivery_replay",
        )
        return [replay, *super().get_urls()]

    def replay_one(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        """The "Replay" button of a delivery's page."""
        if not self.has_replay_permission(request):
            raise PermissionDenied
        get_object_or_404(Delivery, pk=delivery_id)
        replayed = deliveries_replay(
            queryset=Delivery.objects.filter(pk=delivery_id),
            by=request.user.get_username(),
            actor=actor_of(request),
        )
        if replayed:
            self.message_user(request, f"Delivery #{delivery_id} replayed: it is processed again now.")
        else:
            self.message_user(request, f"{NOT_REPLAYABLE.capitalize()}.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[delivery_id]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        delivery = self.get_object(request, object_id)
        story: dict[str, Any] = {}
        if delivery is not None:
            story = {
                "delivery": delivery,
                "masked_path": mask_text(delivery.path),
                "advice": reason_advice(delivery.reason),
                "ontraport_contact_url": (
                    contact_app_url(delivery.contact_id) if delivery.contact_id else ""
                ),
                **attempts_summary(delivery, list(delivery.attempt_log.select_related("by"))),
                "may_replay": self.has_replay_permission(request)
                and deliveries_replayable(queryset=Delivery.objects.filter(pk=delivery.pk)).exists(),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **story})

    @admin.display(description="source", ordering="source")
    def source_label(self, delivery: Delivery) -> str:
        # An import's rows are not webhooks: say which run wrote them (the filter "source" lists them apart).
        if delivery.source == Delivery.Source.WEBHOOK:
            return str(delivery.get_source_display())
        return f"{delivery.get_source_display()} #{delivery.run_id}" if delivery.run_id else delivery.source

    @admin.display(description="path")
    def masked_path(self, delivery: Delivery) -> str:
        return mask_text(delivery.path)

    @admin.display(description="user", ordering="user__username")
    def user_link(self, delivery: Delivery) -> SafeString | str:
        if delivery.user is None:
            return "—"
        url = reverse("admin:accounts_user_change", args=[delivery.user.pk])
        return format_html('<a href="{}">{}</a>', url, breakable(delivery.user.get_username()))

    @admin.display(description="message")
    def message_preview(self, delivery: Delivery) -> str:
        return Truncator(delivery.message).chars(MESSAGE_PREVIEW_CHARS)

    @admin.action(description="Replay selected deliveries", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = queryset.count()
        replayed = deliveries_replay(
            queryset=queryset, by=request.user.get_username(), actor=actor_of(request)
        )
        skipped = selected - replayed
        text = f"Replayed {replayed} of {selected} selected deliveries."
        if skipped:
            text += f" Skipped {skipped}: {NOT_REPLAYABLE}."
        self.message_user(request, text, messages.SUCCESS if replayed else messages.WARNING)


def attempts_summary(delivery: Delivery, log: list[DeliveryAttempt]) -> dict[str, Any]:
    """What the page says above the attempt log. A replay restarts `delivery.attempts` (the claims since),
    so after one the page says how many attempts came since the replay, who replayed it, and how many
    there were in all: never "after 1 attempt" above a list of two."""
    replays = [row for row in log if row.kind == DeliveryAttempt.Kind.REPLAY]
    last_replay = replays[-1] if replays else None
    before = log[: log.index(last_replay)] if last_replay else []
    replayed_by = ""
    if last_replay is not None:
        # An admin's username; a replay from the command has no user, its message names the command.
        replayed_by = (
            last_replay.by.get_username()
            if last_replay.by
            else last_replay.message.removeprefix("replayed by ")
        )
    return {
        "attempt_log": log,
        "last_replay": last_replay,
        "replayed_by": replayed_by,
        "replay_count": len(replays),
        "attempts_in_all": delivery.attempts
        + sum(row.kind == DeliveryAttempt.Kind.ATTEMPT for row in before),
    }
