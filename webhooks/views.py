"""The webhook endpoint. Thin on purpose: parse, check the key, store, enqueue on commit, answer.

Answers (JSON, always):
  202 {"success": true, "delivery_id": N}          stored; processing happens in the background
  200 {"success": true}                             wpf_action=test with a valid key
  400 {"success": false, "reason": "...", ...}      malformed; recorded as a rejected Delivery
  400 {"success": false, "reason": "disallowed_host"}      Host not in ALLOWED_HOSTS (+ webhook extra hosts)
  400 {"success": false, "reason": "invalid_json" | "invalid_body" | "files_not_accepted"}   body refused
  403 {"success": false, "reason": "invalid_access_key"}   nothing stored, the key never echoed or logged
  413 {"success": false, "reason": "body_too_large"}
  429 {"success": false, "reason": "too_many_invalid_keys"}  an address that keeps sending wrong keys
  503 {"success": false, "reason": "database_unavailable"}   nothing stored: the sender should retry
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import split_domain_port, validate_host
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from accounts.identity import ascii_lower
from accounts.reasons import FailureReason
from accounts.services.contacts_apply import SyncAction
from webhooks import throttle
from webhooks.access import access_key_valid
from webhooks.metrics_web import webhook_counted
from webhooks.models import Delivery
from webhooks.params import (
    Ambiguous,
    InvalidJson,
    WebhookParams,
    access_key_from_headers,
    parse_contact_id,
    read_params,
)
from webhooks.recording import delivery_record, delivery_reject, request_source_ip
from webhooks.tasks import wake_worker

logger = logging.getLogger(__name__)

ACTIONS = set(SyncAction)


@csrf_exempt
@transaction.non_atomic_requests
@sensitive_variables("params")
def ontraport_webhook(request: HttpRequest) -> JsonResponse:
    response = _respond(request)
    # Counted by action (set once the key is valid: one of a few known labels) and answer, for /metrics.
    action = getattr(request, "_fusion_action", "")
    webhook_counted(action=action if action in ACTIONS | {"test"} else "other", answer=response.status_code)
    return response


def _respond(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "POST"):
        return _answer(405, reason="method_not_allowed", detail="Use GET or POST.")
    if not host_allowed(request):
        return _answer(400, reason="disallowed_host", detail="This Host is not served (ALLOWED_HOSTS).")
    if body_over_limit(request):  # before anything reads it: the limit counts file parts too
        return _refuse_body(request, 413, FailureReason.BODY_TOO_LARGE, "The request body is too large.")
    source_ip = request_source_ip(request)
    try:
        params = read_params(request)
        has_files = bool(request.FILES)
    except Ambiguous as error:
        if error.name == "access_key":
            return _refuse_key(source_ip)
        detail = f"{error.name} was given more than once"
        return _reject(request, 400, FailureReason.AMBIGUOUS_PARAMETER, detail)
    except InvalidJson:
        detail = "The JSON body is unreadable or nested too deep."
        return _refuse_body(request, 400, FailureReason.INVALID_JSON, detail)
    except (RequestDataTooBig, TooManyFieldsSent):  # Django's own limits on bodies
        return _refuse_body(request, 413, FailureReason.BODY_TOO_LARGE, "The request body is too large.")
    except MultiPartParserError:
        return _refuse_body(request, 400, FailureReason.INVALID_BODY, "The form body is unreadable.")
    if has_files:
        return _refuse_body(request, 400, FailureReason.FILES_NOT_ACCEPTED, "A webhook carries no files.")

    if not access_key_valid(params.access_key or ""):
        return _refuse_key(source_ip)
    request._fusion_action = (params.action or "").strip().lower()  # type: ignore[attr-defined]
    return _accept(request, params)


def host_allowed(request: HttpRequest) -> bool:
    """The Host header is one the site serves (ALLOWED_HOSTS, as for every other request), or one listed
    for webhooks only in FUSION_WEBHOOK_EXTRA_HOSTS. Checked here because the webhook middleware answers
    before CommonMiddleware, which is what makes Django check ALLOWED_HOSTS."""
    domain, _port = split_domain_port(request._get_raw_host())  # type: ignore[attr-defined]
    allowed = [*settings.ALLOWED_HOSTS, *settings.FUSION_WEBHOOK_EXTRA_HOSTS]
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own rule under DEBUG
    return bool(domain) and validate_host(domain, allowed)


def body_over_limit(request: HttpRequest) -> bool:
    """Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE, whatever the content type (Django's own check
    skips multipart file parts, so a 50 MB upload would be parsed)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django reads such a body as empty
    return limit is not None and length > limit


def _accept(request: HttpRequest, params: WebhookParams) -> JsonResponse:
    action = ascii_lower((params.action or "").strip())
    try:
        if action == "test":
            delivery_record(request, params, action=Delivery.Action.TEST, contact_id=None, test=True)
            return JsonResponse({"success": True})
        if action not in ACTIONS:
            reason = FailureReason.UNKNOWN_ACTION if action else FailureReason.MISSING_ACTION
            return _reject(request, 400, reason, "wpf_action must be add, update, update_tags or test")
        contact_id = parse_contact_id(params.contact_id)
        if contact_id is None:
            given = (params.contact_id or "").strip()
            reason = FailureReason.INVALID_CONTACT_ID if given else FailureReason.MISSING_CONTACT_ID
            return _reject(request, 400, reason, "contact_id must be a positive whole number", action=action)
        delivery = delivery_record(request, params, action=action, contact_id=contact_id)
    except DatabaseError:
        logger.exception("webhook not stored: database unavailable")
        return _answer(503, reason="database_unavailable", detail="Try again shortly.", retry_after=5)
    # Robust: the delivery is stored, so the answer is 202 even if waking the worker fails (the failure is
    # logged; the next webhook's wake-up, a drain's tail or a retry's wake-up drains it).
    transaction.on_commit(wake_worker, robust=True)
    return _answer(202, delivery_id=delivery.pk, status="accepted")


def _reject(
    request: HttpRequest, status: int, reason: str, detail: str, action: str = Delivery.Action.INVALID
) -> JsonResponse:
    try:
        delivery_reject(request, reason=reason, message=detail, action=action)
    except DatabaseError:
        logger.exception("rejected webhook not recorded: database unavailable")
    return _answer(status, reason=reason, detail=detail)


def _refuse_body(request: HttpRequest, status: int, reason: str, detail: str) -> JsonResponse:
    """A body refused before its parameters could be read: recorded as rejected when the URL or a header
    carried a valid key (the site owner's sender has a problem to fix), else only answered."""
    key = access_key_from_headers(request) or request.GET.get("access_key") or ""
    if access_key_valid(key):
        return _reject(request, status, reason, detail)
    logger.warning("webhook body refused (%s) from %s", reason, request_source_ip(request))
    return _answer(status, reason=reason, detail=detail)


def _refuse_key(source_ip: str | None) -> JsonResponse:
    if throttle.bad_key_seen(source_ip):
        return _answer(429, reason="too_many_invalid_keys", detail="Too many invalid keys.", retry_after=60)
    logger.warning("webhook refused: invalid access key from %s", source_ip)
    return _answer(403, reason="invalid_access_key", detail="Invalid access key.")


def _answer(http_status: int, *, retry_after: int | None = None, **body: object) -> JsonResponse:
    response = JsonResponse({"success": 200 <= http_status < 300, **body}, status=http_status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
