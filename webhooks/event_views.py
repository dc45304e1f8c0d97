"""The endpoint of Ontraport's webhook subscriptions (tag added / removed). Thin: check the key, read the
event, store it as an update_tags delivery (the same pipeline, batching and log as every webhook), answer.

Answers (JSON): 202 stored; 400 malformed (recorded as a rejected delivery); 403 wrong key (nothing
stored); 405 not a POST; 413 body too large; 503 database unavailable (Ontraport should try again).
"""

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from webhooks import throttle
from webhooks.access import access_key_valid
from webhooks.models import Delivery
from webhooks.params import WebhookParams, access_key_from_headers
from webhooks.recording import delivery_record, delivery_reject, request_source_ip
from webhooks.subscription_events import BadEvent, tag_event_read
from webhooks.tasks import wake_worker

logger = logging.getLogger(__name__)


@csrf_exempt
@transaction.non_atomic_requests
def ontraport_events(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _answer(405, reason="method_not_allowed", detail="Ontraport POSTs events.")
    # The key is in the subscribed URL's query string (Ontraport's subscriptions cannot add headers); a
    # header is accepted too, as on the webhook endpoint.
    key = access_key_from_headers(request) or request.GET.get("access_key", "")
    if not access_key_valid(key):
        source_ip = request_source_ip(request)
        if throttle.bad_key_seen(source_ip):
            return _answer(429, reason="too_many_invalid_keys", detail="Too many invalid keys.")
        logger.warning("subscription event refused: invalid access key from %s", source_ip)
        return _answer(403, reason="invalid_access_key", detail="Invalid access key.")
    try:
        event = tag_event_read(request)
    except BadEvent as bad:
        try:
            delivery_reject(
                request, reason=bad.reason, message=bad.message, action=Delivery.Action.UPDATE_TAGS
            )
        except DatabaseError:
            logger.exception("rejected subscription event not recorded: database unavailable")
        return _answer(400, reason=bad.reason, detail=bad.message)
    except (RequestDataTooBig, TooManyFieldsSent):
        return _answer(413, reason="body_too_large", detail="The request body is too large.")
    params = WebhookParams(
        access_key=None,
        action=Delivery.Action.UPDATE_TAGS,
        contact_id=str(event.contact_id),
        role=None,
        send_notification=None,
        email=None,
    )
    try:
        delivery = delivery_record(
            request,
            params,
            action=Delivery.Action.UPDATE_TAGS,
            contact_id=event.contact_id,
            extra_options={"event": event.type, "tag_id": event.tag_id},
        )
    except DatabaseError:
        logger.exception("subscription event not stored: database unavailable")
        return _answer(503, reason="database_unavailable", detail="Try again shortly.")
    transaction.on_commit(wake_worker, robust=True)
    return _answer(202, delivery_id=delivery.pk, status="accepted")


def _answer(http_status: int, **body: object) -> JsonResponse:
    return JsonResponse({"success": 200 <= http_status < 300, **body}, status=http_status)
