"""What a site owner can do about each reason a delivery failed or was rejected, in words.

Shown on a delivery's page and on the Ontraport page, beside the machine-readable reason.
"""

ADVICE: dict[str, str] = {
    # Rejected at the door (answered 400): the URL in Ontraport is wrong.
    "missing_action": "The URL has no wpf_action. Copy the URL again from the Ontraport page.",
    "unknown_action": "wpf_action must be add, update, update_tags or test. Copy the URL again from the "
    "Ontraport page.",
    "missing_contact_id": "The URL has no contact_id. In Ontraport, end the URL with "
    "&contact_id=[Contact ID] (the merge field, in square brackets).",
    "invalid_contact_id": "contact_id is not a number: the merge field was probably typed wrong. Use "
    "[Contact ID] exactly.",
    "ambiguous_parameter": "A parameter appears twice with different values (in the URL and in the body). "
    "Keep it in one place.",
    "missing_event": "A subscription event without event[type]: remove the subscription on the Tags page and "
    "subscribe again.",
    "unknown_event": "Only sub_tag and unsub_tag events are synced: remove other subscriptions of this URL "
    "in Ontraport.",
    "unsupported_object": "Only contacts are synced: subscribe to contact tags only.",
    "invalid_body": "The event's body could not be read. If it keeps happening, remove and re-create the "
    "subscription.",
    # Failed while processing.
    "not_found": "Ontraport has no such contact (deleted or merged). Nothing to do unless the id is wrong.",
    "no_email": "The contact had no e-mail address when the webhook fired (the 'Contact is created' "
    "trigger fires before details are entered). Trigger on a tag or a field update instead, then replay.",
    "invalid_email": "Fix the contact's e-mail address in Ontraport, then replay.",
    "email_conflict": "Another user already has this e-mail and is linked to a different contact. Merge the "
    "contacts in Ontraport, or unlink the other user, then replay.",
    "conflict": "The user kept changing while this was applied. Replay it.",
    "ontraport_credentials": "Ontraport refused the API key: check ONTRAPORT_APP_ID and ONTRAPORT_API_KEY "
    "(the Ontraport page tests them), then replay.",
    "gave_up": "Ontraport or the network failed every attempt. Check the connection on the Ontraport page, "
    "then replay.",
    "retrying": "A temporary error: the worker tries again by itself.",
    "no_matching_user": "update and update_tags only change existing users. Use wpf_action=add to create "
    "users.",
}


def reason_advice(reason: str) -> str:
    return ADVICE.get(reason, "")
