"""The Tags page, accounts' part: the list (users per tag, what Ontraport pushes) and "Refresh tag names from
Ontraport" (accounts.services.tags).

Not registered here: the layers above add what they own to this page (webhooks.accounts_admin: the
"Subscribe" action, which needs the site's events URL; webhooks.adoption.admin: "Import users with this
tag"), and webhooks.adoption.admin registers the finished admin, once.
"""

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin.shared import LoadsFromOntraport, RowCount, TagFilter, ontraport_errors_shown
from accounts.models import Tag, User
from accounts.ontraport import ontraport_client
from accounts.services.tags import tags_sync_from_ontraport

TAG_ADD_HELP = (
    "This names a tag on the site only: it does not create the tag in Ontraport. Create tags in Ontraport "
    'and press "Refresh tag names from Ontraport" on the Tags page; add one here only to name an id '
    "Ontraport already has."
)


class TagAdmin(LoadsFromOntraport[Tag]):
    """accounts' tag admin. Registered, once, by webhooks.adoption.admin, with what webhooks and adoption add
    to it."""

    list_display = ("id", "name", "user_count", "subscribed", "name_checked_at")
    search_fields = ("name", "id__exact")
    readonly_fields = ("name_checked_at",)
    actions: tuple[str, ...] = ("refresh_from_ontraport",)
    load_path, load_url_name = "refresh/", "accounts_tag_refresh"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        # A count per tag of the page, read from the tag-link index; a COUNT grouped over the join read every
        # user's tags (and the changelist's own COUNT wrapped that again).
        links = User.tags.through.objects.filter(tag_id=OuterRef("pk")).order_by().values("id")
        tags: QuerySet[Tag] = super().get_queryset(request)
        return tags.annotate(user_count=RowCount(links)).prefetch_related("subscriptions")

    @admin.display(description="Ontraport pushes changes")
    def subscribed(self, tag: Tag) -> str:
        events = sorted(subscription.get_event_display() for subscription in tag.subscriptions.all())
        return ", ".join(events) if events else "—"

    @admin.display(description="users", ordering="user_count")
    def user_count(self, tag: Tag) -> SafeString | int:
        count = int(getattr(tag, "user_count", 0))
        if not count:
            return 0
        url = reverse("admin:accounts_user_changelist") + f"?{TagFilter.parameter_name}={tag.pk}"
        return format_html('<a href="{}" title="The users with this tag">{}</a>', url, count)

    def get_fieldsets(self, request: HttpRequest, obj: Tag | None = None) -> Any:
        if obj is not None:
            return super().get_fieldsets(request, obj)
        return [(None, {"description": TAG_ADD_HELP, "fields": self.get_fields(request, obj)})]

    @admin.action(description="Refresh tag names from Ontraport", permissions=["add", "change"])
    def refresh_from_ontraport(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        # Ontraport's tag list comes in one paged read, so the whole list is refreshed whatever was selected.
        self.load_all(request)

    def load_all(self, request: HttpRequest) -> None:
        with ontraport_errors_shown(request, self, could_not="refresh tags from Ontraport"):
            count = tags_sync_from_ontraport(client=ontraport_client())
            self.message_user(request, f"Refreshed tag names from Ontraport: it has {count} tags.")
