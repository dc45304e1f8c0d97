"""Why a delivery was rejected, failed or is waiting: ONE typed list for the model, the services, the admin's
filter, the README and the docs.

It lives in accounts (the bottom of webhooks → accounts → ontraport_client) so that the services which
decide an outcome and the webhooks app which stores it name reasons the same way.
"""

from django.db import models


class FailureReason(models.TextChoices):
    # Answered 400 at the edge: recorded as *rejected*, never processed.
    MISSING_ACTION = "missing_action", "No wpf_action"
    UNKNOWN_ACTION = "unknown_action", "Unknown wpf_action"
    MISSING_CONTACT_ID = "missing_contact_id", "No contact_id"
    INVALID_CONTACT_ID = "invalid_contact_id", "Invalid contact_id"
    AMBIGUOUS_PARAMETER = "ambiguous_parameter", "A parameter given twice"
    # A tag subscription's event that cannot be read (webhooks.subscription_events).
    MISSING_EVENT = "missing_event", "Subscription event without a type"
    UNKNOWN_EVENT = "unknown_event", "Subscription event not sub_tag / unsub_tag"
    UNSUPPORTED_OBJECT = "unsupported_object", "Subscription event not about a contact"
    # Bodies refused at the edge (recorded only when the URL or a header carried a valid key).
    BODY_TOO_LARGE = "body_too_large", "Body over the size limit"
    INVALID_JSON = "invalid_json", "JSON body unreadable or nested too deep"
    INVALID_BODY = "invalid_body", "Form body unreadable"
    FILES_NOT_ACCEPTED = "files_not_accepted", "Body carried file parts"
    # Waiting for another attempt (status *pending*).
    RETRYING = "retrying", "Retrying (Ontraport or database trouble)"
    ONTRAPORT_CREDENTIALS = "ontraport_credentials", "Ontraport rejected the API credentials"
    # Failed for good (status *failed*): replay once the cause is fixed.
    GAVE_UP = "gave_up", "Gave up after the maximum attempts"
    NOT_FOUND = "not_found", "Ontraport has no such contact"
    CONTACT_DELETED = "contact_deleted", "Contact deleted in Ontraport"
    NO_EMAIL = "no_email", "Contact has no e-mail"
    INVALID_EMAIL = "invalid_email", "Contact's e-mail is invalid"
    INVALID_CONTACT_DATA = "invalid_contact_data", "Contact data unusable"
    EMAIL_CONFLICT = "email_conflict", "E-mail belongs to another contact's user"
    PROTECTED_ACCOUNT = "protected_account", "Staff or superuser account"
    CONFLICT = "conflict", "Kept conflicting with concurrent changes"
    # Done, but nothing to apply it to.
    NO_MATCHING_USER = "no_matching_user", "No user for this contact"


# What the site owner can do about each failure: shown in the admin and the docs.
WHAT_TO_DO: dict[str, str] = {
    FailureReason.GAVE_UP: "Check that Ontraport answers (the message says what failed), then replay.",
    FailureReason.ONTRAPORT_CREDENTIALS: "Fix ONTRAPORT_APP_ID / ONTRAPORT_API_KEY; it completes by itself.",
    FailureReason.NOT_FOUND: "Check the contact id in the rule or campaign that sent it.",
    FailureReason.CONTACT_DELETED: "The contact was deleted in Ontraport; its user is kept (or deactivated "
    "when FUSION_DELETED_CONTACT=deactivate).",
    FailureReason.NO_EMAIL: "Give the contact an e-mail in Ontraport, then replay (or trigger the rule on a "
    "tag instead of 'Contact is created').",
    FailureReason.INVALID_EMAIL: "Correct the contact's e-mail in Ontraport, then replay.",
    FailureReason.INVALID_CONTACT_DATA: "Correct the value the message names in Ontraport, then replay.",
    FailureReason.EMAIL_CONFLICT: "Two contacts share the e-mail: merge them in Ontraport, then replay.",
    FailureReason.PROTECTED_ACCOUNT: "Staff and superusers are linked by hand only: open the user in the "
    "admin and use 'Link to Ontraport contact' if this contact is theirs.",
    FailureReason.CONFLICT: "Replay: another change to the same user happened at the same moment.",
}
