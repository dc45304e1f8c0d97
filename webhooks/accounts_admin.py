"""What webhooks adds to accounts' Users and Tags pages: what needs the way in, which accounts does not know.

- Tags: "Subscribe: Ontraport tells the site when these tags are added or removed". The subscriptions point
  at the site's events URL (webhooks.sender_urls), which is webhooks' to know.
- A user's page: "Deliveries (N)", a link to that user's lines in the log, for those who may view it.

Mixins for accounts' admins (accounts.admin.tags.TagAdmin, accounts.admin.users.UserAdmin); the finished
admins are composed and registered once by webhooks.adoption.admin.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts.admin.shared import ontraport_errors_shown
from accounts.history import actor_of
from accounts.models import Tag, User
from accounts.ontraport import ontraport_client
from accounts.permissions import can_change_users
from accounts.services.tag_subscriptions import tag_subscriptions_create
from webhooks.permissions import can_view_deliveries
from webhooks.selectors import deliveries_of_user_count
from webhooks.sender_urls import events_url_for_ontraport


class SubscribeTagsInOntraport(admin.ModelAdmin[Tag]):
    """The Tags page's "Subscribe" action: two Ontraport webhook subscriptions per tag (added, removed),
    made by accounts.services.tag_subscriptions, whose events come back to the site's events URL."""

    def has_subscribe_permission(self, request: HttpRequest) -> bool:
        # Events change users' tags from then on: the tag's change permission and the users'.
        return self.has_change_permission(request) and can_change_users(request)

    @admin.action(
        description="Subscribe: Ontraport tells the site when these tags are added or removed",
        permissions=["subscribe"],
    )
    def subscribe_in_ontraport(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        url = events_url_for_ontraport(base_url=settings.SITE_URL, access_key=settings.FUSION_ACCESS_KEY)
        with ontraport_errors_shown(request, self, could_not="subscribe in Ontraport"):
            made = tag_subscriptions_create(
                tags=queryset, url=url, client=ontraport_client(), by=actor_of(request)
            )
            self.message_user(
                request,
                f"Made {made} subscriptions in Ontraport: adding or removing these tags now updates the "
                f"users' tags on their own. Events go to {settings.SITE_URL}{reverse('ontraport-events')}.",
            )


class DeliveriesOfUserLink(admin.ModelAdmin[User]):
    """A user's page links "Deliveries (N)": the log filtered to that user, for those who may view the log
    (webhooks.permissions); others see no link and no count."""

    change_form_template = "admin/webhooks/user_change_form.html"

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
        if obj is not None and can_view_deliveries(request):
            context["deliveries_url"] = (
                reverse("admin:webhooks_delivery_changelist") + f"?user__id__exact={obj.pk}"
            )
            # The log's index on its user column answers it.
            context["deliveries_count"] = deliveries_of_user_count(user_id=obj.pk)
        return super().render_change_form(request, context, add, change, form_url, obj)
