"""The welcome e-mail: a login link and a set-password link (a password-reset token), never a password."""

import datetime
import logging
from functools import partial

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User

logger = logging.getLogger(__name__)

RETRY_DELAY = datetime.timedelta(seconds=60)


def welcome_email_send(*, user: User) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {
        "user": user,
        "site_url": settings.SITE_URL,
        "login_url": settings.SITE_URL + reverse("login"),
        "set_password_url": settings.SITE_URL
        + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}),
    }
    message = EmailMultiAlternatives(
        subject=render_to_string("accounts/email/welcome_subject.txt", context).strip(),
        body=render_to_string("accounts/email/welcome.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("accounts/email/welcome.html", context), "text/html")
    message.send()


def welcome_email_owe(*, user: User) -> None:
    """Inside the creating transaction: owe the user a welcome e-mail, and send it once that has committed."""
    user.welcome_email_due_at = timezone.now() + RETRY_DELAY
    user.save(update_fields=["welcome_email_due_at"])
    transaction.on_commit(partial(_send_owed, user_id=user.pk))


def welcome_emails_send_due(*, limit: int = 50) -> int:
    """Send the welcome e-mails still owed past their due time. Returns how many were sent."""
    sent = 0
    now = timezone.now()
    due = User.objects.filter(welcome_email_due_at__lte=now).values_list("pk", "welcome_email_due_at")[:limit]
    for user_id, due_at in list(due):
        # Pushed back before sending, and only if nobody else did meanwhile: two workers never both send it.
        claimed = User.objects.filter(pk=user_id, welcome_email_due_at=due_at)
        if claimed.update(welcome_email_due_at=now + RETRY_DELAY):
            sent += _send_owed(user_id=user_id)
    return sent


def _send_owed(*, user_id: int) -> int:
    """Send the e-mail if it is still owed; a failure is logged and leaves it owed (never undoes the user)."""
    user = User.objects.filter(pk=user_id, welcome_email_due_at__isnull=False).first()
    if user is None:
        return 0
    if user.email:
        try:
            welcome_email_send(user=user)
        except Exception:
            logger.exception("welcome e-mail to user %s could not be sent; will retry", user_id)
            return 0
    User.objects.filter(pk=user_id).update(welcome_email_due_at=None)
    return 1
