"""The two endpoints Ontraport calls: the webhook (`/?wpf_action=...` on any path, webhooks.middleware) and
the events of its webhook subscriptions (`/webhooks/ontraport/events/`, tag added / removed). Thin on
purpose: what every request passes (method, host, body, key, throttle, counting) is webhooks.edge's; each
reads what it was sent, stores one delivery (the same pipeline, batching and log for both), wakes the
worker on commit and answers.

The webhook's answers (JSON, always):
  202 {"success": true, "delivery_id": N}          stored; processing happens in the background
  200 {"success": true}                             wpf_action=test with a valid key
  400 {"success": false, "reason": "...", ...}      malformed; recorded as a rejected Delivery (a URL with
                                                    the key but no wpf_action included: missing_action)
  400 {"success": false, "reason": "disallowed_host"}      Host not in ALLOWED_HOSTS (+ webhook extra hosts)
  400 {"success": false, "reason": "invalid_json" | "invalid_body" | "files_not_accepted"}   body refused
  403 {"success": false, "reason": "invalid_access_key"}   nothing stored, the key never echoed or logged
  405 {"success": false, "reason": "method_not_allowed"}   not GET, POST, PUT, PATCH or DELETE
  413 {"success": false, "reason": "body_too_large"}
  429 {"success": false, "reason": "too_many_invalid_keys"}  an address that keeps sending wrong keys
  503 {"success": false, "reason": "database_unavailable"}   nothing stored: the sender should retry

The events' answers: 202 stored (an update_tags delivery, the event's type and tag in its options); 400 an
event that cannot be read (recorded as a rejected delivery) or a body or Host the edge refuses, as above;
403, 413, 429 and 503 as above; 405 anything but a POST.
"""

import logging

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.debug import sensitive_variables

from accounts.identity import ascii_lower
from accounts.reasons import FailureReason
from accounts.services.contacts_apply import SyncAction
from webhooks.edge import RECORD, WEBHOOK_METHODS, Inbound, Refused, answer, endpoint
from webhooks.models import Delivery
from webhooks.params import Ambiguous, WebhookParams, parse_contact_id
from webhooks.services.recording import delivery_record
from webhooks.subscription_events import TAG_EVENTS, BadEvent, tag_event_read
from webhooks.tasks import wake_worker_on_commit

logger = logging.getLogger(__name__)

ACTIONS = frozenset(SyncAction)


@endpoint(
    name="webhook",
    methods=WEBHOOK_METHODS,
    labels=ACTIONS | {"test"},
    rejected_as=Delivery.Action.INVALID,
)
@sensitive_variables("params")
def ontraport_webhook(inbound: Inbound) -> JsonResponse:
    try:
        params = inbound.webhook_params()
    except Ambiguous as error:
        detail = f"{error.name} was given more than once"
        raise Refused(400, FailureReason.AMBIGUOUS_PARAMETER, detail, record=RECORD) from None
    action = ascii_lower((params.action or "").strip())
    inbound.label = action
    request = inbound.request
    try:
        if action == "test":
            delivery_record(request, params, action=Delivery.Action.TEST, contact_id=None, test=True)
            return JsonResponse({"success": True})
        if action not in ACTIONS:
            reason = FailureReason.UNKNOWN_ACTION if action else FailureReason.MISSING_ACTION
            raise Refused(400, reason, "wpf_action must be add, update, update_tags or test", record=RECORD)
        contact_id = parse_contact_id(params.contact_id)
        if contact_id is None:
            given = (params.contact_id or "").strip()
            reason = FailureReason.INVALID_CONTACT_ID if given else FailureReason.MISSING_CONTACT_ID
            detail = "contact_id must be a positive whole number"
            raise Refused(400, reason, detail, record=RECORD, action=action)
        delivery_id = delivery_record(request, params, action=action, contact_id=contact_id)
    except DatabaseError:
        logger.exception("webhook not stored: database unavailable")
        return _database_unavailable()
    inbound.after_answer.append(wake_worker_on_commit)
    return answer(202, delivery_id=delivery_id, status="accepted")


# The key is in the subscribed URL's query string (Ontraport's subscriptions cannot add headers); a header
# is accepted too, as on the webhook endpoint. Ontraport POSTs events.
@endpoint(name="events", methods=("POST",), labels=TAG_EVENTS, rejected_as=Delivery.Action.UPDATE_TAGS)
def ontraport_events(inbound: Inbound) -> JsonResponse:
    request = inbound.request
    try:
        event = tag_event_read(request)
    except BadEvent as bad:
        raise Refused(400, bad.reason, bad.message, record=RECORD) from None
    inbound.label = event.type
    params = WebhookParams(
        access_key=None,
        action=Delivery.Action.UPDATE_TAGS,
        contact_id=str(event.contact_id),
        role=None,
        send_notification=None,
        email=None,
    )
    try:
        delivery_id = delivery_record(
            request,
            params,
            action=Delivery.Action.UPDATE_TAGS,
            contact_id=event.contact_id,
            extra_options={"event": event.type, "tag_id": event.tag_id},
        )
    except DatabaseError:
        logger.exception("subscription event not stored: database unavailable")
        return _database_unavailable()
    inbound.after_answer.append(wake_worker_on_commit)
    return answer(202, delivery_id=delivery_id, status="accepted")


def _database_unavailable() -> JsonResponse:
    """Nothing was stored: the sender should send it again shortly."""
    return answer(503, reason="database_unavailable", detail="Try again shortly.", retry_after=5)
