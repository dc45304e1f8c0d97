"""Webhooks on any path, as WP Fusion accepts them: `https://site/any/page/?wpf_action=...`.

Placed before the session, CSRF and auth middleware, so a webhook costs none of their work. It is also the
site's first guard on bodies: a body over DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length, file parts
included) is answered 413 on every path before anything parses it.
"""

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from webhooks.params import InvalidJson, json_load
from webhooks.views import body_over_limit, ontraport_webhook

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class WebhookOnAnyPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "wpf_action" in request.GET:
            return ontraport_webhook(request)
        if body_over_limit(request):
            # Not a webhook we can tell without reading it; no page of this site takes a body this size.
            return HttpResponse("Request body too large.\n", status=413, content_type="text/plain")
        if self._body_names_action(request):
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
                parsed = json_load(request.body)
                return isinstance(parsed, dict) and "wpf_action" in parsed
        except InvalidJson:
            # Names wpf_action but does not parse (or nests too deep): the webhook view answers 400.
            return True
        except (SuspiciousOperation, MultiPartParserError, ValueError, TypeError):
            # A body over Django's limits, or unreadable: not ours to answer on an arbitrary path.
            return False
        return False
