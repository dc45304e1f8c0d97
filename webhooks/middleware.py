"""Webhooks on any path, as WP Fusion accepts them: `https://site/any/page/?wpf_action=...`.

Placed before the session, CSRF and auth middleware, so a webhook costs none of their work. It is also the
site's first guard on bodies: a body over DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length, file parts
included) is answered 413 on every path before anything parses it.

A URL that carries the access key but no wpf_action is a webhook too (a rule whose action was left out):
it is answered 400 missing_action and recorded, not with the page at that path and a 200 that would look
like success in Ontraport. The events endpoint is the one URL whose key comes without a wpf_action.
"""

import functools
from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse

from webhooks.edge import BODY_METHODS, KEY, body_over_limit, form_body
from webhooks.params import InvalidJson, json_load
from webhooks.views import ontraport_events, ontraport_webhook


class WebhookOnAnyPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == _events_path():
            return ontraport_events(request)  # here too: before sessions, CSRF, auth and CommonMiddleware
        query = request.GET
        if "wpf_action" in query or KEY in query:
            return ontraport_webhook(request)
        if body_over_limit(request):
            # Not a webhook we can tell without reading it; no page of this site takes a body this size.
            return HttpResponse("Request body too large.\n", status=413, content_type="text/plain")
        if self._body_names_action(request):
            return ontraport_webhook(request)
        return self.get_response(request)

    @staticmethod
    def _body_names_action(request: HttpRequest) -> bool:
        """A body whose form or JSON carries wpf_action ("Send A Webhook" may send either, with any method
        but GET)."""
        if request.method not in BODY_METHODS:
            return False
        try:
            form, _files = form_body(request)
            if form is not None:
                return "wpf_action" in form
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


@functools.cache
def _events_path() -> str:
    return reverse("ontraport-events")
