"""The admin of users, tags and field mappings. Thin: queries shaped for the changelists, and buttons that
call one service each (accounts.services.tags, accounts.services.fields_sync).

Everything shown here that came from Ontraport (names, tag names, profile values) is untrusted text: it is
rendered through Django's escaping (format_html), never marked safe.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from accounts.models import FieldMapping, Tag, User
from accounts.ontraport import ontraport_client
from accounts.services.fields_sync import field_mappings_sync_from_ontraport
from accounts.services.tags import tags_sync_from_ontraport
from ontraport_client import OntraportError


class LinkedToOntraportFilter(admin.SimpleListFilter):
    title = "linked to Ontraport"
    parameter_name = "linked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(contact_id__isnull=False)
        if self.value() == "no":
            return queryset.filter(contact_id__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "contact_id",
        "roles",
        "tag_count",
        "is_active",
        "is_staff",
    )
    list_filter = (LinkedToOntraportFilter, "tags", "groups", "is_staff", "is_active")
    # contact_id__exact: the admin skips it for terms that are not whole numbers, so "alice" searches the
    # text fields only and "123" also finds contact 123 (by the unique index, not a LIKE).
    search_fields = ("username", "email", "first_name", "last_name", "contact_id__exact")
    autocomplete_fields = ("tags",)  # accounts can have thousands of tags: never list them all in a form
    readonly_fields = (
        "profile_table",
        "password_return_due_at",
        "password_return_attempts",
        "password_return_note",
    )
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            "Ontraport",
            {
                "description": "Tags and profile values are replaced by the next webhook for this contact: "
                "change them in Ontraport.",
                "fields": (
                    "contact_id",
                    "tags",
                    "profile_table",
                    "password_return_due_at",
                    "password_return_attempts",
                    "password_return_note",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super()
            .get_queryset(request)
            .annotate(tag_count=Count("tags", distinct=True))
            .prefetch_related("groups")
        )

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        # Reads the prefetched groups: one query for the whole page, not one per row.
        return ", ".join(sorted(group.name for group in user.groups.all()))

    @admin.display(description="tags", ordering="tag_count")
    def tag_count(self, user: User) -> int:
        return int(getattr(user, "tag_count", 0))

    @admin.display(description="profile (from Ontraport)")
    def profile_table(self, user: User) -> SafeString | str:
        if not user.profile:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((key, "" if value is None else str(value)) for key, value in sorted(user.profile.items())),
        )
        return format_html("<table>{}</table>", rows)


class LoadsFromOntraport(admin.ModelAdmin):
    """A changelist button (POST-only, at `load_path`) that runs `load_all`: it fills this model from
    Ontraport. Loading creates and changes rows, so it takes both permissions, as the matching actions do."""

    load_path: str
    load_url_name: str
    load_all: Callable[[HttpRequest], None]

    def may_load(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_load_from_ontraport": self.may_load(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        @require_POST
        def load_view(request: HttpRequest) -> HttpResponse:
            if not self.may_load(request):
                raise PermissionDenied
            self.load_all(request)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

        load = path(self.load_path, self.admin_site.admin_view(load_view), name=self.load_url_name)
        return [load, *super().get_urls()]


@admin.register(Tag)
class TagAdmin(LoadsFromOntraport):
    list_display = ("id", "name", "user_count", "name_checked_at")
    search_fields = ("name", "id__exact")
    readonly_fields = ("name_checked_at",)
    actions = ("refresh_from_ontraport",)
    load_path, load_url_name = "refresh/", "accounts_tag_refresh"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(user_count=Count("users", distinct=True))

    @admin.display(description="users", ordering="user_count")
    def user_count(self, tag: Tag) -> int:
        return int(getattr(tag, "user_count", 0))

    @admin.action(description="Refresh tag names from Ontraport", permissions=["add", "change"])
    def refresh_from_ontraport(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        # Ontraport's tag list comes in one paged read, so the whole list is refreshed whatever was selected.
        self.load_all(request)

    def load_all(self, request: HttpRequest) -> None:
        try:
            count = tags_sync_from_ontraport(client=ontraport_client())
        except OntraportError as error:
            self.message_user(request, f"Could not refresh tags from Ontraport: {error}", messages.ERROR)
            return
        self.message_user(request, f"Refreshed tag names from Ontraport: it has {count} tags.")


@admin.register(FieldMapping)
class FieldMappingAdmin(LoadsFromOntraport):
    # The form's validation is the model's clean(): a user attribute must be one of USER_ATTRIBUTES, so a
    # mapping can never make is_staff or groups webhook-controlled.
    list_display = ("ontraport_field", "label", "target", "attribute", "enabled")
    list_editable = ("enabled",)
    list_filter = ("enabled", "target")
    search_fields = ("ontraport_field", "label", "attribute")
    actions = ("load_from_ontraport",)
    load_path, load_url_name = "load/", "accounts_fieldmapping_load"
    readonly_fields = ("options",)  # loaded from Ontraport's field list, not typed in

    @admin.action(description="Load fields from Ontraport", permissions=["add", "change"])
    def load_from_ontraport(self, request: HttpRequest, queryset: QuerySet[FieldMapping]) -> None:
        self.load_all(request)

    def load_all(self, request: HttpRequest) -> None:
        try:
            created = field_mappings_sync_from_ontraport(client=ontraport_client())
        except OntraportError as error:
            self.message_user(request, f"Could not load fields from Ontraport: {error}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Loaded fields from Ontraport: {created} new mappings, created disabled; "
            "labels of existing mappings updated. Enable the ones the site should copy.",
        )
