"""What a site owner can do about a delivery's reason, in words: shown on a delivery's page and on the
Ontraport page beside the machine-readable reason.

Failures say it in accounts.reasons.WHAT_TO_DO (the one list, shared with the docs); rejections and the
states that need no action are explained here, where the URL the sender used is the thing to fix.
"""

from accounts.reasons import WHAT_TO_DO, FailureReason

COPY_AGAIN = "Copy the URL again from the Ontraport page and paste it into the rule or campaign."
BODY = "Send a small, flat form or JSON body and no files (docs/security.md)."
RESUBSCRIBE = "Remove the tag's subscriptions (Tag subscriptions page) and subscribe the tag again."

ADVICE: dict[str, str] = {
    FailureReason.MISSING_ACTION: f"The URL has no wpf_action. {COPY_AGAIN}",
    FailureReason.UNKNOWN_ACTION: f"wpf_action must be add, update, update_tags or test. {COPY_AGAIN}",
    FailureReason.MISSING_CONTACT_ID: "The URL has no contact_id: end it with &contact_id=[Contact ID] "
    "(Ontraport's merge field, in square brackets).",
    FailureReason.INVALID_CONTACT_ID: "contact_id is not a number: the merge field was probably mistyped. "
    "Use [Contact ID] exactly.",
    FailureReason.AMBIGUOUS_PARAMETER: "A parameter is given twice with different values (in the URL and in "
    "the body): keep it in one place.",
    FailureReason.MISSING_EVENT: RESUBSCRIBE,
    FailureReason.UNKNOWN_EVENT: "Only sub_tag and unsub_tag events are synced: remove other subscriptions "
    "to this URL in Ontraport.",
    FailureReason.UNSUPPORTED_OBJECT: "Only contacts are synced: subscribe contact tags only.",
    FailureReason.BODY_TOO_LARGE: BODY,
    FailureReason.INVALID_JSON: BODY,
    FailureReason.INVALID_BODY: BODY,
    FailureReason.FILES_NOT_ACCEPTED: BODY,
    FailureReason.RETRYING: "Temporary trouble: the worker tries again by itself (the Ontraport page shows "
    "whether Ontraport answers).",
    FailureReason.NO_MATCHING_USER: "update and update_tags only change existing users; use wpf_action=add "
    "to create them.",
    **WHAT_TO_DO,
}


def reason_advice(reason: str) -> str:
    return ADVICE.get(reason, "")
