"""Return Password: write a new user's generated password to a chosen Ontraport field.

The plaintext lives only in memory between the user's creation and the write. When the write fails, the
user is marked due (`password_return_due_at`) and a later retry generates a *fresh* password, sets it and
writes that one, so no plaintext is ever stored anywhere to be retried from.
"""

import datetime
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.ontraport import ontraport_client
from accounts.passwords import password_generate, password_hash_generated
from ontraport_client import OntraportError

logger = logging.getLogger(__name__)

RETRY_DELAY = datetime.timedelta(seconds=60)


def password_return_after_create(*, user: User, password: str) -> None:
    """Inside the creating transaction: mark the user due, and try the write once it has committed."""
    user.password_return_due_at = timezone.now() + RETRY_DELAY
    user.save(update_fields=["password_return_due_at"])
    transaction.on_commit(partial(_write_or_leave_due, user_id=user.pk, password=password))


def password_return_retry_due(*, limit: int = 50) -> int:
    """Retry writes that failed earlier, each with a fresh password. Returns how many were written."""
    written = 0
    due_ids = list(
        User.objects.filter(password_return_due_at__lte=timezone.now()).values_list("pk", flat=True)[:limit]
    )
    for user_id in due_ids:
        password = password_generate()
        with transaction.atomic():
            user = (
                User.objects.select_for_update()
                .filter(pk=user_id, password_return_due_at__isnull=False)
                .first()
            )
            if user is None or user.is_protected:
                continue
            user.password = password_hash_generated(password)
            # Pushed back first: if the write below fails the user stays due, one delay later.
            user.password_return_due_at = timezone.now() + RETRY_DELAY
            user.save(update_fields=["password", "password_return_due_at"])
        written += _write_or_leave_due(user_id=user_id, password=password)
    return written


def _write_or_leave_due(*, user_id: int, password: str) -> int:
    user = User.objects.filter(pk=user_id).only("contact_id").first()
    if user is None or user.contact_id is None:
        return 0
    try:
        ontraport_client().update_contact(user.contact_id, {settings.FUSION_RETURN_PASSWORD_FIELD: password})
    except OntraportError as error:
        # The error names the status and Ontraport's answer, never the request that carried the password.
        logger.warning(
            "return password for user %s failed (%s); will retry with a new password", user_id, error
        )
        return 0
    User.objects.filter(pk=user_id).update(password_return_due_at=None)
    return 1
