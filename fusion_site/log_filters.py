"""A logging filter that masks secrets in every record, whoever logs it (runserver, gunicorn, Django).

The webhook URL carries the access key in its query string, and request lines are logged by servers we do
not control; this filter is the safety net under the rule that no secret reaches a log.
"""

import logging
import re

from django.conf import settings
from django.utils.safestring import SafeString
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SECRET_PATTERNS = [
    re.compile(r"((?:access_key|access%5[Ff]key)=)[^&\s\"']*", re.IGNORECASE),
    re.compile(r"((?:api[-_]?key|password|passwd|pass)[\"']?\s*[:=]\s*[\"']?)[^&\s\"',}]*", re.IGNORECASE),
]


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Also hides the access key carried in a webhook's query string or body."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|ACCESS", flags=re.IGNORECASE
    )

    def get_post_parameters(self, request):  # type: ignore[no-untyped-def]
        cleansed = super().get_post_parameters(request)
        return _mask_query(cleansed)

    def get_safe_request_meta(self, request):  # type: ignore[no-untyped-def]
        meta = super().get_safe_request_meta(request)
        return {key: redact(value) if isinstance(value, str) else value for key, value in meta.items()}


def _mask_query(params):  # type: ignore[no-untyped-def]
    if hasattr(params, "copy") and "access_key" in params:
        params = params.copy()
        params["access_key"] = SafeExceptionReporterFilter.cleansed_substitute
    return params


class SecretsExceptionReporter(ExceptionReporter):
    """Error reports (mails to ADMINS, the 500 page) with every configured secret masked wherever it appears.

    The filter above cleans settings, POST and META, but Django prints a request's GET parameters, its URL
    and each frame's local variables (a view's `params`, a client's headers) as they are: a webhook's
    access key sits in all three. So the finished report is scrubbed of the secrets' values themselves.
    """

    # Replacing a secret with asterisks keeps rendered (escaped) HTML safe.
    def get_traceback_text(self) -> SafeString:
        return SafeString(_scrub(super().get_traceback_text()))

    def get_traceback_html(self) -> SafeString:
        return SafeString(_scrub(super().get_traceback_html()))


def _scrub(report: str) -> str:
    secrets = [
        settings.FUSION_ACCESS_KEY,
        *settings.FUSION_PREVIOUS_ACCESS_KEYS,
        settings.ONTRAPORT_API_KEY,
        settings.SECRET_KEY,
    ]
    for secret in sorted((s for s in secrets if s and len(s) >= 8), key=len, reverse=True):
        report = report.replace(secret, SafeExceptionReporterFilter.cleansed_substitute)
    return redact(report)
