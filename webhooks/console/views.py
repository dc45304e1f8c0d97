"""The Ontraport page and its two actions. Thin: each view gathers from one module and renders.

Every view is wrapped in admin.site.admin_view (urls.py): staff only, logged in, never cached. Staff alone
grants nothing more: the test webhook takes the user permissions its action needs, its result and the
latest failures take the permission to view deliveries (accounts.permissions).
"""

import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.history import actor_of
from webhooks.adoption.selectors import runs_recent
from webhooks.console.connection import connection_check
from webhooks.console.effective_settings import effective_settings
from webhooks.console.selectors import delivery_health
from webhooks.console.webhook_probe import ACTIONS, webhook_probe_send
from webhooks.models import Delivery
from webhooks.params import parse_contact_id
from webhooks.permissions import can_send_test_webhook, can_view_deliveries
from webhooks.reason_advice import reason_advice
from webhooks.sender_urls import events_url_for_ontraport, webhook_urls_for_ontraport
from webhooks.services.recording import delivery_sender_record
from webhooks.telemetry.selectors import workers_health

# Stands for the key in the page's URLs; the page's script puts the key in only when asked (a click).
KEY_PLACEHOLDER = "KEY-HIDDEN"
RECENT_RUNS = 5


def ontraport_page(request: HttpRequest) -> HttpResponse:
    health = delivery_health(hours=24)
    since = timezone.now() - datetime.timedelta(hours=24)
    urls = webhook_urls_for_ontraport(base_url=settings.SITE_URL, access_key=KEY_PLACEHOLDER)
    events_url = events_url_for_ontraport(base_url=settings.SITE_URL, access_key=KEY_PLACEHOLDER)
    # Where the sender can add headers ("Send A Webhook" in newer accounts): the URL without the key, and
    # the key in a header (webhooks.params.KEY_HEADER), so it appears in no URL and no access log.
    header_urls = [
        (sender_url.purpose, sender_url.url.replace(f"&access_key={KEY_PLACEHOLDER}", ""))
        for sender_url in urls
        if "wpf_action=test" not in sender_url.url
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Ontraport",
        "site_url": settings.SITE_URL,
        "connection": connection_check(),
        "sender_urls": urls,
        "events_url": events_url,
        "header_urls": header_urls,
        "key_header": f"X-Fusion-Access-Key: {KEY_PLACEHOLDER}",
        "key_placeholder": KEY_PLACEHOLDER,
        "may_reveal_key": _may_reveal_key(request),
        "settings_rows": effective_settings(),
        "health": health,
        "status_counts": [
            (value, label, health.by_status[value]) for value, label in Delivery.Status.choices
        ],
        "since": since.isoformat(),
        # Failures name users and e-mails: only for those who may read the deliveries log.
        "may_view_deliveries": can_view_deliveries(request),
        "failures": [(delivery, reason_advice(delivery.reason)) for delivery in health.latest_failures]
        if can_view_deliveries(request)
        else [],
        "test_actions": [action for action in ACTIONS if can_send_test_webhook(request, action=action)],
        "runs": runs_recent(limit=RECENT_RUNS),
        "workers": workers_health(),
    }
    return render(request, "console/ontraport.html", context)


def _may_reveal_key(request: HttpRequest) -> bool:
    # The key lets anyone create accounts: only those who may already change everything see it.
    return bool(getattr(request.user, "is_superuser", False))


@never_cache
@require_POST
def access_key_reveal(request: HttpRequest) -> JsonResponse:
    """The key, for the page's "Show key" and copy buttons: a POST (CSRF-checked), never cached, never in
    the page's source."""
    if not _may_reveal_key(request):
        raise PermissionDenied
    return JsonResponse({"access_key": settings.FUSION_ACCESS_KEY})


@require_POST
def test_webhook(request: HttpRequest) -> HttpResponse:
    """Fire a real webhook at the site's own URL, then follow the delivery it created."""
    page = reverse("console:ontraport")
    contact_id = parse_contact_id(request.POST.get("contact_id"))
    action = request.POST.get("action", "")
    if contact_id is None or action not in ACTIONS:
        messages.error(request, "Enter a contact id (a positive whole number) and choose an action.")
        return HttpResponseRedirect(page + "#test-webhook")
    if not can_send_test_webhook(request, action=action):
        # A test webhook is a real one: it creates or rewrites users like the admin's own user pages.
        raise PermissionDenied
    answer = webhook_probe_send(
        base_url=settings.SITE_URL,
        access_key=settings.FUSION_ACCESS_KEY,
        contact_id=contact_id,
        action=action,
    )
    if answer.delivery_id is None:
        status = f"HTTP {answer.status}" if answer.status else "no answer"
        messages.error(
            request,
            f"The test webhook to {answer.sent_to} got {status}: {answer.detail}. "
            "Check SITE_URL (it must be the address this site answers on) and the access key.",
        )
        return HttpResponseRedirect(page + "#test-webhook")
    delivery_sender_record(delivery_id=answer.delivery_id, action=action, actor=actor_of(request))
    if not can_view_deliveries(request):
        messages.success(request, f"Test webhook sent: stored as delivery #{answer.delivery_id}.")
        return HttpResponseRedirect(page + "#test-webhook")
    return HttpResponseRedirect(reverse("console:test-result", args=[answer.delivery_id]))


def test_webhook_result(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """The delivery a test webhook created, refreshed every second until it is done or failed: any
    delivery's outcome, so only for those who may view deliveries (as the deliveries admin)."""
    if not can_view_deliveries(request):
        raise PermissionDenied
    delivery = get_object_or_404(Delivery.objects.select_related("user"), pk=delivery_id)
    waiting = delivery.status in Delivery.WAITING_STATUSES
    context = {
        **admin.site.each_context(request),
        "title": f"Test webhook: delivery #{delivery.pk}",
        "delivery": delivery,
        "waiting": waiting,
        "advice": reason_advice(delivery.reason),  # the delivery page's advice, one definition
    }
    return render(request, "console/test_result.html", context)
