"""Tag subscriptions: Ontraport's subscriptions of this site, listed with the code the site last answered,
removed ("Remove" unsubscribes in Ontraport) and refreshed from Ontraport's list
(accounts.services.tag_subscriptions). They are made from the Tags page's "Subscribe" action, which the
webhooks layer adds (webhooks.accounts_admin): it knows the URL the events go to."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from accounts.admin.shared import ontraport_errors_shown
from accounts.history import actor_of
from accounts.models import TagSubscription
from accounts.ontraport import ontraport_client
from accounts.services.tag_subscriptions import tag_subscriptions_delete, tag_subscriptions_refresh


@admin.register(TagSubscription)
class TagSubscriptionAdmin(admin.ModelAdmin[TagSubscription]):
    """Ontraport's tag subscriptions of this site: made from the Tags page, removed here."""

    list_display = ("tag", "event", "ontraport_id", "last_code", "checked_at", "created_at", "created_by")
    list_select_related = ("tag",)
    list_filter = ("event",)
    actions = ("unsubscribe",)
    change_list_template = "admin/accounts/tagsubscription/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made with the Tags page's "Subscribe" action

    def has_change_permission(self, request: HttpRequest, obj: TagSubscription | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TagSubscription | None = None) -> bool:
        return False  # a row deleted here alone would leave Ontraport sending events: "Remove" unsubscribes

    def has_unsubscribe_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.delete_tagsubscription"))

    @admin.action(description="Remove: unsubscribe in Ontraport", permissions=["unsubscribe"])
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[TagSubscription]) -> None:
        with ontraport_errors_shown(request, self, could_not="unsubscribe in Ontraport"):
            removed = tag_subscriptions_delete(
                subscriptions=queryset, client=ontraport_client(), by=actor_of(request)
            )
            self.message_user(request, f"Removed {removed} subscriptions.")

    def get_urls(self) -> list[URLPattern]:
        @require_POST
        def refresh(request: HttpRequest) -> HttpResponse:
            if not self.has_view_permission(request):
                raise PermissionDenied
            with ontraport_errors_shown(request, self, could_not="read Ontraport's subscriptions"):
                count = tag_subscriptions_refresh(client=ontraport_client())
                self.message_user(request, f"Read Ontraport's list: {count} subscriptions of this site.")
            return HttpResponseRedirect(reverse("admin:accounts_tagsubscription_changelist"))

        view = path("refresh/", self.admin_site.admin_view(refresh), name="accounts_tagsubscription_refresh")
        return [view, *super().get_urls()]
