"""Who may read and act on the deliveries log, by Django permissions (never by the staff flag alone).

A delivery's outcome (its page, the test webhook's result, the Ontraport page's latest failures, which show
e-mails) is shown only to those who may view deliveries; what re-applies contacts to users also takes the
user permissions the admin's own user pages take (accounts.permissions).
"""

from django.http import HttpRequest

from accounts.permissions import can_add_and_change_users, can_change_users

VIEW_DELIVERIES = "webhooks.view_delivery"
CHANGE_DELIVERIES = "webhooks.change_delivery"


def can_view_deliveries(request: HttpRequest) -> bool:
    """May read the deliveries log and any delivery's outcome (messages name users and e-mails)."""
    return bool(request.user.is_active and request.user.has_perm(VIEW_DELIVERIES))


def can_replay_deliveries(request: HttpRequest) -> bool:
    """A replay re-applies contacts (an `add` may create a user): the log's change permission and the
    users' add and change permissions."""
    return bool(request.user.has_perm(CHANGE_DELIVERIES)) and can_add_and_change_users(request)


def can_send_test_webhook(request: HttpRequest, *, action: str) -> bool:
    """A test webhook is a real one: `add` may create or link a user, `update`/`update_tags` change one."""
    if action == "add":
        return can_add_and_change_users(request)
    return can_change_users(request)
