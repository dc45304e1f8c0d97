"""Runs in the admin (read-only), and the buttons that start them: "Import users with this tag" on Tags
(after a confirmation page with the command's options: role, welcome e-mail, limit, and a dry run of the
first page), "Resync from Ontraport" on Users (a background run the worker continues), and a user page's
Resync button (that one user, at once) beside a link to that user's deliveries.

The Tag and User admins are accounts' own, extended here with the actions: accounts does not know about
runs being started in the background (this app sits above it).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from accounts import admin as accounts_admin
from accounts.history import actor_of
from accounts.models import Tag, User
from accounts.ontraport import ontraport_bulk_client
from accounts.permissions import can_add_and_change_users, can_change_users
from accounts.services.roles import role_resolve
from ontraport_client import OntraportError
from webhooks.adoption.models import Run
from webhooks.adoption.pages import LeaseLost
from webhooks.adoption.runs import run_now, run_preview, run_start
from webhooks.adoption.tasks import runs_wake_at
from webhooks.models import Delivery


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
        ((reverse("admin:adoption_run_change", args=[r.pk]), str(r)) for r in runs),
    )


admin.site.unregister(Tag)


@admin.register(Tag)
class TagAdmin(accounts_admin.TagAdmin):
    # accounts' actions and ours (its class attribute is typed as a two-item tuple, hence the ignore).
    actions = ("refresh_from_ontraport", "subscribe_in_ontraport", "import_users_with_tag")  # type: ignore[assignment]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return can_add_and_change_users(request)

    @admin.action(description="Import users with this tag", permissions=["import"])
    def import_users_with_tag(self, request: HttpRequest, queryset: QuerySet[Tag]) -> HttpResponse | None:
        """A confirmation page first (Django's own pattern for delete_selected): the command's options, a
        dry run of the first page, then "Start the import". Nothing starts from the first click."""
        tags = list(queryset.order_by("pk"))
        form = ImportForm(request.POST if "confirm" in request.POST else None)
        preview: list[tuple[Tag, Run | str]] = []
        if form.is_bound and form.is_valid():
            options = form.arguments()
            if request.POST["confirm"] == "start":
                runs = [
                    run_start(
                        kind=Run.Kind.IMPORT,
                        arguments={"tag_id": tag.pk, "tag_name": tag.name, **options},
                        started_from="admin",
                        started_by=actor_of(request),
                    )
                    for tag in tags
                ]
                runs_wake_at()
                for run in runs:
                    run.refresh_from_db()
                self.message_user(
                    request, format_html("Started in the background: {}", _links(runs)), messages.SUCCESS
                )
                return None
            client = ontraport_bulk_client()
            for tag in tags:
                arguments = {"tag_id": tag.pk, "tag_name": tag.name, **options}
                try:
                    preview.append(
                        (tag, run_preview(kind=Run.Kind.IMPORT, arguments=arguments, client=client))
                    )
                except OntraportError as error:
                    preview.append((tag, f"Could not ask Ontraport: {error}"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import users with " + ("this tag" if len(tags) == 1 else "these tags"),
            "tags": tags,
            "form": form,
            "preview": preview,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/adoption/import_confirm.html", context)


class ImportForm(forms.Form):
    """The options of `manage.py ontraport_import`, for the admin's confirmation page."""

    role = forms.ChoiceField(
        required=False,
        help_text="The role (group) of the users created. Existing users keep theirs.",
    )
    notify = forms.BooleanField(required=False, label="Send created users the welcome e-mail")
    limit = forms.IntegerField(
        required=False, min_value=1, help_text="Stop after this many contacts (empty: every contact)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only roles a webhook may grant (accounts.services.roles), so the import cannot be refused later.
        names = [g.name for g in Group.objects.order_by("name") if not role_resolve(requested=g.name).refused]
        role: Any = self.fields["role"]
        role.choices = [("", "the site's default role"), *((name, name) for name in names)]

    def arguments(self) -> dict[str, Any]:
        """The run's arguments, as the command stores them (only the options given)."""
        data = self.cleaned_data
        found: dict[str, Any] = {}
        if data.get("role"):
            found["role"] = data["role"]
        if data.get("notify"):
            found["notify"] = True
        if data.get("limit"):
            found["limit"] = data["limit"]
        return found


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(accounts_admin.UserAdmin):
    actions = ("resync_from_ontraport",)  # accounts' user admin has none of its own
    change_form_template = "admin/adoption/user_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        resync = path(
            "<int:user_id>/resync/",
            self.admin_site.admin_view(require_POST(self.resync_one)),
            name="accounts_user_resync",
        )
        return [resync, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        user = self.get_object(request, object_id)
        extra: dict[str, Any] = {}
        if user is not None:
            extra["may_resync"] = self.has_resync_permission(request) and user.contact_id is not None
            if request.user.has_perm("webhooks.view_delivery"):
                extra["deliveries_url"] = (
                    reverse("admin:webhooks_delivery_changelist") + f"?user__id__exact={user.pk}"
                )
                extra["deliveries_count"] = Delivery.objects.filter(user=user).count()
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

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
            format_html("Resynced from Ontraport ({}): {}", _links([run]), outcome),
            level or messages.SUCCESS,
        )
        return HttpResponseRedirect(page)

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
