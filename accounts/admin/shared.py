"""What the admin pages of accounts (and the layers above that extend them) share: text that wraps, a row
count as a column, the users list's filters, the load-from-Ontraport button, and how an Ontraport error
is told to the site owner."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, Model, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from accounts.models import Tag, User
from ontraport_client import OntraportError


def breakable(text: str) -> SafeString:
    """`text` escaped, with a line-break opportunity before each "@" and "." (an e-mail wraps between its
    parts, not mid-word, in a narrow column)."""
    return format_html_join(SafeString("<wbr>"), "{}", ((part,) for part in re.split(r"(?=[@.])", text)))


class RowCount(Subquery):
    """How many rows a subquery returns, as a column."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


@contextmanager
def ontraport_errors_shown(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], *, could_not: str
) -> Iterator[None]:
    """Runs the block; if Ontraport (or the way to it) fails, the rest of the block is skipped and the site
    owner reads "Could not <could_not>: <the error>" instead of an error page. The view then answers as it
    would have (the changelist, the user's page), so nothing the owner typed or selected is lost."""
    try:
        yield
    except OntraportError as error:
        model_admin.message_user(request, f"Could not {could_not}: {error}", messages.ERROR)


class _MembershipFilter(admin.SimpleListFilter):
    """Users linked to one row of a many-to-many (a tag, a group). The stock filter joins and adds DISTINCT,
    which at 50,000 users made the changelist's COUNT sort every column of every matching user; a subquery
    on the link table's index returns each user once."""

    relation = ""  # User's many-to-many field: "tags", "groups"
    link_field = ""  # the other side's id column in its link table: "tag_id", "group_id"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        link_table = getattr(User, self.relation).through
        members = link_table.objects.filter(**{self.link_field: int(value)}).values("user_id")
        return queryset.filter(pk__in=members)


class TagFilter(_MembershipFilter):
    title = "tag"
    parameter_name = "tags__id__exact"
    relation, link_field = "tags", "tag_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(tag.pk), str(tag)) for tag in Tag.objects.all()]


class RoleFilter(_MembershipFilter):
    title = "role"
    parameter_name = "groups__id__exact"
    relation, link_field = "groups", "group_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(group.pk), group.name) for group in Group.objects.order_by("name")]


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


class LoadsFromOntraport[M: Model](admin.ModelAdmin[M]):
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
