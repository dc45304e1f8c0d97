"""Webhooks on any path, as WP Fusion accepts them: `https://site/any/page/?wpf_action=...`.

Placed before the session, CSRF and auth middleware, so a webhook costs none of their work.
"""

import json
from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from webhooks.views import ontraport_webhook

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class WebhookOnAnyPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "wpf_action" in request.GET or self._body_names_action(request):
            return ontraport_webhook(request)
        return self.get_response(request)

    @staticmethod
    def _body_names_action(request: HttpRequest) -> bool:
        """A POST whose form or JSON body carries wpf_action ("Send A Webhook" may post either)."""
        if request.method != "POST":
            return False
        try:
            if request.content_type in FORM_TYPES:
                return "wpf_action" in request.POST
            if request.content_type == "application/json" and b"wpf_action" in request.body:
                return "wpf_action" in json.loads(request.body)
        except (SuspiciousOperation, ValueError, TypeError):
            # A body over Django's limits, or not JSON: not ours to answer on an arbitrary path.
            return False
        return False
