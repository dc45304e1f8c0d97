"""Webhooks on any path, as WP Fusion accepts them: `https://site/any/page/?wpf_action=...`.

Placed before the session, CSRF and auth middleware, so a webhook costs none of their work.
"""

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from webhooks.views import ontraport_webhook

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class WebhookOnAnyPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "wpf_action" in request.GET or self._form_names_action(request):
            return ontraport_webhook(request)
        return self.get_response(request)

    @staticmethod
    def _form_names_action(request: HttpRequest) -> bool:
        if request.method != "POST" or request.content_type not in FORM_TYPES:
            return False
        try:
            return "wpf_action" in request.POST
        except SuspiciousOperation:  # a body over Django's limits: not ours to answer on an arbitrary path
            return False
