"""A logging filter and error reporters that mask secrets, whoever logs or reports (runserver, gunicorn,
Django, our code). All the masking itself is webhooks.masking's; these only apply it.

The webhook URL carries the access key in its query string, and request lines are logged by servers we do
not control; this filter is the safety net under the rule that no secret reaches a log.
"""

import logging
import re

from django.http import QueryDict
from django.utils.safestring import SafeString
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from webhooks.masking import MASK, mask_mapping, mask_text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # A traceback's text (exception messages, a request's repr) is masked like the message.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Hides the access key however its parameter is spelled, in POST and META (and the headers that may
    carry it: X-Fusion-Access-Key, Authorization)."""

    cleansed_substitute = MASK
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|ACCESS|AUTHORIZATION", flags=re.IGNORECASE
    )

    def get_post_parameters(self, request):  # type: ignore[no-untyped-def]
        cleansed = super().get_post_parameters(request)
        if not isinstance(cleansed, QueryDict):
            return cleansed
        masked = cleansed.copy()
        for name, values in mask_mapping(cleansed.lists()):
            masked.setlist(name, values if isinstance(values, list) else [values])
        return masked

    def get_safe_request_meta(self, request):  # type: ignore[no-untyped-def]
        meta = super().get_safe_request_meta(request)
        return dict(mask_mapping(meta.items()))


class SecretsExceptionReporter(ExceptionReporter):
    """Error reports (mails to ADMINS, the DEBUG 500 page) with every secret masked wherever it appears.

    The filter above cleans settings, POST and META, but Django prints a request's GET parameters, its URL
    and each frame's local variables (a view's `params`, a client's headers) as they are: the GET items and
    URL are masked here, and the finished report is masked again as text, which catches every form
    (raw, HTML-escaped, URL-encoded, repr-escaped) of every configured secret.
    """

    def get_traceback_data(self):  # type: ignore[no-untyped-def]
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [
                (name, values[-1] if values else "")
                for name, values in mask_mapping(self.request.GET.lists())
            ]
            data["request_insecure_uri"] = mask_text(data.get("request_insecure_uri") or "")
        return data

    # Replacing a secret with asterisks keeps rendered (escaped) HTML safe.
    def get_traceback_text(self) -> SafeString:
        return SafeString(mask_text(super().get_traceback_text()))

    def get_traceback_html(self) -> SafeString:
        return SafeString(mask_text(super().get_traceback_html()))
