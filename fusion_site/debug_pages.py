"""Under DEBUG, Django's own error pages (the technical 404 page, the 500 page) print the request's URL and
parameters: this middleware masks secrets in them (webhooks.masking) before they leave the site.

Only installed in effect when DEBUG is on (MiddlewareNotUsed otherwise), so production pays nothing.
The 500 page and error mails are also masked at the source (fusion_site.log_filters.SecretsExceptionReporter).
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from webhooks.masking import mask_text


class DebugPagesMaskedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 400 and not response.streaming:
            charset = response.charset or "utf-8"
            text = response.content.decode(charset, errors="replace")
            masked = mask_text(text)
            if masked != text:
                response.content = masked.encode(charset)
                if response.has_header("Content-Length"):
                    response["Content-Length"] = str(len(response.content))
        return response
