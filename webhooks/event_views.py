"""The endpoint of Ontraport's webhook subscriptions (tag added / removed). Thin: what every request
passes (method, host, body, key, throttle, counting) is webhooks.edge's, exactly as for the webhook
endpoint; this reads the event (webhooks.subscription_events), stores it as an update_tags delivery (the
same pipeline, batching and log as every webhook), and answers.

Answers (JSON): 202 stored; 400 malformed (recorded as a rejected delivery) or refused by the edge
(disallowed_host, invalid_json, invalid_body, files_not_accepted); 403 wrong key (nothing stored); 405 not
a POST; 413 body too large; 429 an address that keeps sending wrong keys; 503 database unavailable
(Ontraport should try again).
"""

import logging

from django.db import DatabaseError
from django.http import JsonResponse

from webhooks.edge import RECORD, Inbound, Refused, answer, endpoint
from webhooks.models import Delivery
from webhooks.params import WebhookParams
from webhooks.services.recording import delivery_record
from webhooks.subscription_events import TAG_EVENTS, BadEvent, tag_event_read
from webhooks.tasks import wake_worker_on_commit

logger = logging.getLogger(__name__)


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
        return answer(503, reason="database_unavailable", detail="Try again shortly.", retry_after=5)
    inbound.after_answer.append(wake_worker_on_commit)
    return answer(202, delivery_id=delivery_id, status="accepted")
