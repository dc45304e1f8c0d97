"""The webhook endpoint. Thin on purpose: what every request passes (method, host, body, key, throttle,
counting) is webhooks.edge's; this reads the action and contact, stores, wakes the worker on commit, answers.

Answers (JSON, always):
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
from webhooks.params import Ambiguous, parse_contact_id
from webhooks.services.recording import delivery_record
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
        return answer(503, reason="database_unavailable", detail="Try again shortly.", retry_after=5)
    inbound.after_answer.append(wake_worker_on_commit)
    return answer(202, delivery_id=delivery_id, status="accepted")
