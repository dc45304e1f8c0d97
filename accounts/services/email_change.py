"""The notice sent to a user's OLD address when Ontraport changes the e-mail of an account someone has used.

Whoever can change a contact's e-mail in Ontraport would otherwise receive that account's password resets,
and nobody would be told (every major site sends this notice). Owed durably, like the welcome e-mail: the
old address and a due time are stored with the change, sent after commit, and every drain retries what is
due, so a mail server outage delays the notice instead of losing it.
"""

import datetime
import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User

logger = logging.getLogger(__name__)

RETRY_DELAY = datetime.timedelta(seconds=60)


def email_change_notice_owe(*, user: User, old_email: str) -> bool:
    """Inside the changing transaction: owe `old_email` a notice if the user has ever logged in (an account
    nobody has used yet has nothing to protect). A notice already owed keeps its first address: the one the
    account's owner knew. Returns whether a notice is owed."""
    if user.last_login is None or not old_email:
        return False
    if not user.email_change_notice_to:
        user.email_change_notice_to = old_email
    user.email_change_notice_due_at = timezone.now() + RETRY_DELAY
    user.save(update_fields=["email_change_notice_to", "email_change_notice_due_at"])
    transaction.on_commit(partial(_send_owed, user_id=user.pk), robust=True)
    return True


def email_change_notices_send_due(*, limit: int = 50) -> int:
    """Send the notices still owed past their due time. Returns how many were sent."""
    sent = 0
    now = timezone.now()
    due = User.objects.filter(email_change_notice_due_at__lte=now).values_list(
        "pk", "email_change_notice_due_at"
    )[:limit]
    for user_id, due_at in list(due):
        # Pushed back before sending, and only if nobody else did meanwhile: two workers never both send it.
        claimed = User.objects.filter(pk=user_id, email_change_notice_due_at=due_at)
        if claimed.update(email_change_notice_due_at=now + RETRY_DELAY):
            sent += _send_owed(user_id=user_id)
    return sent


def email_change_notice_send(*, user: User, to: str) -> None:
    context = {"user": user, "old_email": to, "site_url": settings.SITE_URL}
    EmailMessage(
        subject=render_to_string("accounts/email/email_changed_subject.txt", context).strip(),
        body=render_to_string("accounts/email/email_changed.txt", context),
        to=[to],
    ).send()


def _send_owed(*, user_id: int) -> int:
    """Send the notice if it is still owed; a failure is logged and leaves it owed."""
    user = User.objects.filter(pk=user_id, email_change_notice_due_at__isnull=False).first()
    if user is None or not user.email_change_notice_to:
        return 0
    try:
        email_change_notice_send(user=user, to=user.email_change_notice_to)
    except Exception:
        logger.exception("e-mail change notice for user %s could not be sent; will retry", user_id)
        return 0
    User.objects.filter(pk=user_id).update(email_change_notice_to=None, email_change_notice_due_at=None)
    return 1
