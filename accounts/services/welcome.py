"""The welcome e-mail: a login link and a set-password link (a password-reset token), never a password."""

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User

logger = logging.getLogger(__name__)


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


def welcome_email_send_on_commit(*, user_id: int) -> None:
    """Runs after the user's creation committed. A mail failure is logged, never undoes the user."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    try:
        welcome_email_send(user=user)
    except Exception:
        logger.exception("welcome e-mail to user %s could not be sent", user_id)
