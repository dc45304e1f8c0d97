"""The edge: what every inbound request to Ontraport's endpoints passes, in one place, so a rule cannot be
fixed on one endpoint and missing on the other.

Both endpoints (the webhook, `/?wpf_action=...` on any path, and the tag-subscription events,
`/webhooks/ontraport/events/`) are `@endpoint(...)` views: the decorator admits the request (below), hands
the handler an `Inbound`, answers a `Refused` (recording it where the site owner looks when the key was
valid), and counts every answer for /metrics. Admission, in this order:

  method       one the endpoint takes (the webhook: every method Ontraport's "Send a Webhook" offers) → 405
  host         ALLOWED_HOSTS (+ FUSION_WEBHOOK_EXTRA_HOSTS) → 400 disallowed_host
  body cap     Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE, before anything parses it → 413
  parsing      form (any method, not only POST) or JSON with the depth limit → 400 invalid_json/_body;
               file parts → 400 files_not_accepted
  the key      ONE value: every access_key given (query string, form, JSON, X-Fusion-Access-Key,
               Authorization: Bearer) must be the same string, and a valid key; a wrong value anywhere
               refuses → 403, and an address that keeps trying → 429 (webhooks.services.throttle, shared by
               every process)
Secrets are masked wherever the request is stored or logged (webhooks.masking); the address a request
counts as, for the throttle, the logs and the log's source_ip, is webhooks.source_address's.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.http.request import split_domain_port, validate_host
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from accounts.reasons import FailureReason
from webhooks.access import access_key_valid
from webhooks.params import BEARER, KEY_HEADER, Ambiguous, InvalidJson, WebhookParams, json_load
from webhooks.reporting import request_counted
from webhooks.services import throttle
from webhooks.services.recording import delivery_reject
from webhooks.source_address import request_source_ip
from webhooks.telemetry.counters import counters_flush_if_due

logger = logging.getLogger(__name__)

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Every method Ontraport's "Send a Webhook" element offers; parameters are read from the query string first.
WEBHOOK_METHODS = ("GET", *BODY_METHODS)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
KEY = "access_key"


# When a refusal is also stored as a rejected delivery, so the site owner sees it in the log:
RECORD = "record"  # refused by a handler, after admission (the key was valid)
RECORD_IF_URL_KEY = "record_if_url_key"  # a body refused unread: recorded when the URL/header key is valid


class Refused(Exception):
    """A request answered without being stored as a delivery; `record` (above) says when it is stored as a
    rejected one, and `action` what it is recorded as."""

    def __init__(
        self,
        status: int,
        reason: str,
        detail: str,
        *,
        record: str = "",
        action: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail
        self.record, self.action, self.retry_after = record, action, retry_after


@dataclass
class Inbound:
    """An admitted request: its key was valid, its body parsed. `param()` reads the query string first,
    then the form body, then the JSON body. `label` is what the handler says it was (for /metrics)."""

    request: HttpRequest
    form: QueryDict | None
    json: dict[str, object]
    label: str = ""
    after_answer: list[Callable[[], None]] = field(default_factory=list)

    def param(self, name: str) -> str | None:
        """The one value of `name`; Ambiguous when it is given more than once with different values."""
        values = self.request.GET.getlist(name)
        if not values and self.form is not None:
            values = self.form.getlist(name)
        if not values:
            value = self.json.get(name)
            if value is None:
                return None
            values = [str(value).lower() if isinstance(value, bool) else str(value)]
        if len(values) > 1 and len(set(values)) > 1:
            raise Ambiguous(name)
        return values[0]

    def webhook_params(self) -> WebhookParams:
        return WebhookParams(
            access_key=None,  # checked at admission; never carried further
            action=self.param("wpf_action"),
            contact_id=self.param("contact_id"),
            role=self.param("role"),
            send_notification=self.param("send_notification"),
            email=self.param("email"),
        )


Handler = Callable[[Inbound], JsonResponse]


def endpoint(
    *, name: str, methods: tuple[str, ...], labels: frozenset[str], rejected_as: str
) -> Callable[[Handler], Callable[[HttpRequest], JsonResponse]]:
    """Make `handler` an endpoint behind the edge. `name` and the handler's `label` (one of `labels`, else
    "other") are the /metrics labels; `rejected_as` is the action a refusal is recorded under."""

    def decorate(handler: Handler) -> Callable[[HttpRequest], JsonResponse]:
        @csrf_exempt
        @transaction.non_atomic_requests
        @functools.wraps(handler)
        def view(request: HttpRequest) -> JsonResponse:
            label, after = "", []
            try:
                inbound = inbound_admit(request, methods=methods)
                try:
                    response = handler(inbound)
                finally:
                    label, after = inbound.label, inbound.after_answer
            except Refused as refused:
                response = _refusal_answer(request, refused, rejected_as)
            request_counted(endpoint=name, label=label if label in labels else "other", answer=response)
            _run_after_answer(response, [*after, counters_flush_if_due])
            return response

        return view

    return decorate


def _run_after_answer(response: JsonResponse, work: list[Callable[[], None]]) -> None:
    """Run `work` once the answer has been sent: the WSGI server closes the response after writing it, and
    Django runs a response's closers then. So the sender's answer (and its latency) never waits on work
    that is not part of storing its request (waking the worker, writing the counters out), and that work
    still runs in this process right after, before the next request. Closers' exceptions would be
    swallowed by Django: each is logged here."""

    def run() -> None:
        for step in work:
            try:
                step()
            except Exception:
                logger.exception("after the answer: %s failed", getattr(step, "__name__", step))

    response._resource_closers.append(run)  # type: ignore[attr-defined]  # Django's own hook (FileResponse)


@sensitive_variables("keys")
def inbound_admit(request: HttpRequest, *, methods: tuple[str, ...]) -> Inbound:
    """The request, admitted; raises Refused."""
    if request.method not in methods:
        raise Refused(405, "method_not_allowed", f"Use {', '.join(methods)}.")
    if not host_allowed(request):
        raise Refused(400, "disallowed_host", "This Host is not served (ALLOWED_HOSTS).")
    if body_over_limit(request):  # before anything reads it: the limit counts file parts too
        raise _body_refused(413, FailureReason.BODY_TOO_LARGE, "The request body is too large.")
    form, files, body_json = None, None, {}
    if request.method != "GET":
        try:
            form, files = form_body(request)
            if form is None:
                body_json = json_body(request)
        except InvalidJson:
            raise _body_refused(
                400, FailureReason.INVALID_JSON, "The JSON body is unreadable or nested too deep."
            ) from None
        except (RequestDataTooBig, TooManyFieldsSent):  # Django's own limits on bodies
            raise _body_refused(413, FailureReason.BODY_TOO_LARGE, "The request body is too large.") from None
        except (MultiPartParserError, SuspiciousOperation, ValueError):
            raise _body_refused(400, FailureReason.INVALID_BODY, "The form body is unreadable.") from None
        if files:
            raise _body_refused(400, FailureReason.FILES_NOT_ACCEPTED, "A webhook carries no files.")
    keys = keys_given(request, form, body_json)
    if len(keys) != 1 or not access_key_valid(keys.pop()):
        raise _key_refused(request)
    return Inbound(request=request, form=form, json=body_json)


def host_allowed(request: HttpRequest) -> bool:
    """The Host header is one the site serves (ALLOWED_HOSTS, as for every other request), or one listed
    for webhooks only in FUSION_WEBHOOK_EXTRA_HOSTS. Checked here because the webhook middleware answers
    before CommonMiddleware, which is what makes Django check ALLOWED_HOSTS."""
    domain, _port = split_domain_port(request._get_raw_host())  # type: ignore[attr-defined]
    allowed = _allowed_hosts(tuple(settings.ALLOWED_HOSTS), tuple(settings.FUSION_WEBHOOK_EXTRA_HOSTS))
    return bool(domain) and validate_host(domain, allowed)


@functools.lru_cache(maxsize=4)
def _allowed_hosts(hosts: tuple[str, ...], extra: tuple[str, ...]) -> list[str]:
    allowed = [*hosts, *extra]
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own rule under DEBUG
    return allowed


def body_over_limit(request: HttpRequest) -> bool:
    """Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE, whatever the content type (Django's own check
    skips multipart file parts, so a 50 MB upload would be parsed)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django reads such a body as empty
    return limit is not None and length > limit


def form_body(request: HttpRequest) -> tuple[QueryDict | None, MultiValueDict[str, Any] | None]:
    """A form body's fields and files, for every method (Django parses request.POST for POST only; PUT,
    PATCH and DELETE bodies are parsed here by the same parsers, with the same limits). (None, None) when
    the body is not a form."""
    if request.content_type not in FORM_TYPES:
        return None, None
    if request.method == "POST":
        return request.POST, request.FILES
    if request.content_type == "multipart/form-data":
        return request.parse_file_upload(request.META, io.BytesIO(request.body))
    return QueryDict(request.body, encoding=request.encoding), None


def json_body(request: HttpRequest) -> dict[str, object]:
    """A JSON body's object ({} for another content type, or a JSON value that is not an object)."""
    if request.content_type != "application/json":
        return {}
    parsed = json_load(request.body or b"{}")
    return parsed if isinstance(parsed, dict) else {}


def keys_given(request: HttpRequest, form: QueryDict | None, body_json: dict[str, object]) -> set[str]:
    """Every distinct access key the request carries, wherever it carries one. A JSON key that is not a
    string counts as a value no key equals."""
    keys: set[str] = set(request.GET.getlist(KEY))
    if (header := request.META.get(KEY_HEADER)) is not None:
        keys.add(header.strip())
    if match := BEARER.match(request.META.get("HTTP_AUTHORIZATION", "")):
        keys.add(match[1])
    if form is not None:
        keys.update(form.getlist(KEY))
    if KEY in body_json:
        value = body_json[KEY]
        keys.add(value if isinstance(value, str) else "\x00not-a-string")
    return keys


def url_key_valid(request: HttpRequest) -> bool:
    """The key in the URL or a header (the body unread) is valid, and no other key there disagrees."""
    keys = keys_given(request, None, {})
    return len(keys) == 1 and access_key_valid(keys.pop())


def _body_refused(status: int, reason: str, detail: str) -> Refused:
    """A body refused before it was read: recorded when the URL or a header carried a valid key (the site
    owner's sender has a problem to fix), else only answered."""
    return Refused(status, reason, detail, record=RECORD_IF_URL_KEY)


def _key_refused(request: HttpRequest) -> Refused:
    source_ip = request_source_ip(request)
    if throttle.bad_key_seen(source_ip):
        return Refused(429, "too_many_invalid_keys", "Too many invalid keys.", retry_after=60)
    logger.warning("refused: invalid access key from %s", source_ip)
    return Refused(403, "invalid_access_key", "Invalid access key.")


def _refusal_answer(request: HttpRequest, refused: Refused, rejected_as: str) -> JsonResponse:
    if refused.record:
        if refused.record == RECORD or url_key_valid(request):
            try:
                delivery_reject(
                    request,
                    reason=refused.reason,
                    message=refused.detail,
                    action=refused.action or rejected_as,
                )
            except DatabaseError:
                logger.exception("rejected request not recorded: database unavailable")
        else:
            logger.warning("body refused (%s) from %s", refused.reason, request_source_ip(request))
    return answer(
        refused.status, retry_after=refused.retry_after, reason=refused.reason, detail=refused.detail
    )


def answer(http_status: int, *, retry_after: int | None = None, **body: object) -> JsonResponse:
    """Every answer of both endpoints: JSON with `success`, and Retry-After when the sender should wait."""
    response = JsonResponse({"success": 200 <= http_status < 300, **body}, status=http_status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
