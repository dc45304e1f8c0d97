"""The Users page's "Resync from Ontraport": the action (a background run of the selected linked users, which
the worker continues) and a user's page's button (that one user, now, recorded as a resync run)."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts.history import actor_of
from accounts.models import User
from accounts.ontraport import ontraport_bulk_client
from accounts.permissions import can_change_users
from ontraport_client import OntraportError
from webhooks.adoption.admin.runs import run_links
from webhooks.adoption.models import Run
from webhooks.adoption.pages import LeaseLost
from webhooks.adoption.runs import run_now, run_start
from webhooks.adoption.tasks import runs_wake_at
from webhooks.models import Delivery


class ResyncFromOntraport(admin.ModelAdmin[User]):
    """A mixin for the Users page's admin (accounts.admin.users.UserAdmin): the action, the button and its
    URL (`admin:accounts_user_resync`)."""

    change_form_template = "admin/adoption/user_change_form.html"

    def has_resync_permission(self, request: HttpRequest) -> bool:
        return can_change_users(request)

    def get_urls(self) -> list[URLPattern]:
        resync = path(
            "<int:user_id>/resync/",
            self.admin_site.admin_view(require_POST(self.resync_one)),
            name="accounts_user_resync",
        )
        return [resync, *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: User | None = None,
    ) -> HttpResponse:
        # Here rather than in change_view: the user is the one the page already loaded (no second query).
        if obj is not None:
            context["may_resync"] = self.has_resync_permission(request) and obj.contact_id is not None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def resync_one(self, request: HttpRequest, user_id: int) -> HttpResponse:
        """The user page's Resync button: this user from Ontraport now, recorded as a resync run."""
        if not self.has_resync_permission(request):
            raise PermissionDenied
        user = get_object_or_404(User, pk=user_id)
        page = reverse("admin:accounts_user_change", args=[user.pk])
        if user.contact_id is None:
            self.message_user(request, "This user is not linked to an Ontraport contact.", messages.WARNING)
            return HttpResponseRedirect(page)
        run = run_start(
            kind=Run.Kind.RESYNC,
            arguments={"user_ids": [user.pk]},
            started_from="admin",
            started_by=actor_of(request),
        )
        # Not "Could not …" (ontraport_errors_shown): a lost lease stops it too, and either way the run is
        # there, to be pressed again.
        try:
            run = run_now(run=run, client=ontraport_bulk_client())
        except (OntraportError, LeaseLost) as error:
            self.message_user(request, f"Resync stopped: {error}. Press Resync again.", messages.ERROR)
            return HttpResponseRedirect(page)
        logged = run.deliveries.order_by("-id").first()
        outcome = logged.message if logged is not None else f"no change to user {user.get_username()}"
        level = messages.ERROR if logged is not None and logged.status == Delivery.Status.FAILED else None
        self.message_user(
            request,
            format_html("Resynced from Ontraport ({}): {}", run_links([run]), outcome),
            level or messages.SUCCESS,
        )
        return HttpResponseRedirect(page)

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
            request, format_html("Started in the background: {}{}", run_links([run]), note), messages.SUCCESS
        )
