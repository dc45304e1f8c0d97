"""The Tags page's "Import users with this tag": a confirmation page with the command's options (role,
welcome e-mail, limit) and a dry run of the first page, then a background run the worker continues."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.history import actor_of
from accounts.models import Tag
from accounts.ontraport import ontraport_bulk_client
from accounts.permissions import can_add_and_change_users
from accounts.services.roles import role_resolve
from ontraport_client import OntraportError
from webhooks.adoption.admin.runs import run_links
from webhooks.adoption.models import Run
from webhooks.adoption.runs import run_preview, run_start
from webhooks.adoption.tasks import runs_wake_at


class ImportUsersWithTag(admin.ModelAdmin[Tag]):
    """A mixin for the Tags page's admin (accounts.admin.tags.TagAdmin): the import action."""

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
                    request, format_html("Started in the background: {}", run_links(runs)), messages.SUCCESS
                )
                return None
            client = ontraport_bulk_client()
            for tag in tags:
                arguments = {"tag_id": tag.pk, "tag_name": tag.name, **options}
                # A line of the preview, not a message: the other tags' previews are still shown.
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
