"""Return Password: write a new user's generated password to a chosen Ontraport field.

The plaintext lives only in memory between the user's creation and the write. When the write fails, the
user stays due (`password_return_due_at`) and a later retry generates a *fresh* password, sets it and
writes that one, so no plaintext is ever stored anywhere to be retried from.

A side effect owed to a user must never hurt that user, so a retry replaces the password only while it is
still one the site generated (GeneratedPasswordHasher) and the user has never logged in: once they have
chosen a password (the welcome link) or logged in with the returned one, the return is abandoned, with the
reason in the log and on the user's admin page. Retries back off and stop after FUSION_MAX_ATTEMPTS writes.

Who writes is decided by a compare-and-set on `password_return_due_at`: the creator holds it for one lease
(FUSION_LEASE_SECONDS) while its on-commit write runs, and a sweep claims a due user by moving the due time
forward only if nobody moved it first. Two workers therefore never both generate a password for one user
(Ontraport would keep the one written last, which the user might not have).

Our write changes the contact in Ontraport, which may fire a rule that pings the site: that webhook is
harmless (an update never changes a password, and the return field is never stored: accounts.services.
fields), but the rule should not ping the site for this field at all (docs/security.md).
"""

import datetime
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.hashers import GeneratedPasswordHasher
from accounts.models import User
from accounts.ontraport import ontraport_client
from accounts.passwords import password_generate, password_hash_generated
from ontraport_client import OntraportError

logger = logging.getLogger(__name__)

# The first retry's delay; each failed write doubles it, up to FUSION_RETRY_MAX_SECONDS.
RETRY_DELAY = datetime.timedelta(seconds=60)
NOTE_MAX = 255
WRITTEN_TOO_LATE = "Return Password written, but the user had already changed their password."


def password_return_after_create(*, user: User, password: str) -> None:
    """Inside the creating transaction: hold the return for this process, and write once it has committed.
    If the process dies before writing, a sweep takes the return over when the hold (one lease) ends."""
    user.password_return_due_at = timezone.now() + _lease()
    user.password_return_attempts = 1
    user.password_return_note = ""
    user.save(update_fields=["password_return_due_at", "password_return_attempts", "password_return_note"])
    transaction.on_commit(
        partial(_write, user_id=user.pk, password=password, password_hash=user.password, attempt=1)
    )


def password_return_retry_due(*, limit: int = 50) -> int:
    """Retry returns that are due, each with a fresh password. Returns how many were written."""
    written = 0
    now = timezone.now()
    due = list(
        User.objects.filter(password_return_due_at__lte=now)
        .order_by("password_return_due_at")
        .values_list("pk", "password_return_due_at")[:limit]
    )
    for user_id, due_at in due:
        # Compare-and-set: only the worker that moves the due time it read owns this retry.
        claimed = User.objects.filter(pk=user_id, password_return_due_at=due_at).update(
            password_return_due_at=now + _lease()
        )
        if not claimed:
            continue
        renewed = _renew(user_id)
        if renewed is not None:
            password, password_hash, attempt = renewed
            written += _write(
                user_id=user_id, password=password, password_hash=password_hash, attempt=attempt
            )
    return written


def password_return_next_due_at() -> datetime.datetime | None:
    """When the earliest owed return becomes due (the worker wakes for it), or None."""
    return (
        User.objects.filter(password_return_due_at__isnull=False)
        .order_by("password_return_due_at")
        .values_list("password_return_due_at", flat=True)
        .first()
    )


def password_is_generated(user: User) -> bool:
    """The user's password is still one the site generated (they have never chosen their own)."""
    return user.password.startswith(f"{GeneratedPasswordHasher.algorithm}$")


def _renew(user_id: int) -> tuple[str, str, int] | None:
    """Set a fresh generated password for the claimed user, or abandon the return when it may no longer
    replace the user's password. Returns (password, its hash, the attempt number) or None."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            return None
        reason = _why_not(user)
        if reason:
            _abandon(user, reason)
            return None
        password = password_generate()
        user.password = password_hash_generated(password)
        user.password_return_attempts += 1
        user.save(update_fields=["password", "password_return_attempts"])
    return password, user.password, user.password_return_attempts


def _why_not(user: User) -> str:
    if user.is_protected:
        return "the user is staff or a superuser"
    if user.contact_id is None:
        return "the user is no longer linked to an Ontraport contact"
    if user.last_login is not None:
        return "the user has logged in (their password is no longer replaced)"
    if not password_is_generated(user):
        return "the user has set a password of their own (it is kept)"
    if user.password_return_attempts >= settings.FUSION_MAX_ATTEMPTS:
        return f"gave up after {user.password_return_attempts} failed writes to Ontraport"
    return ""


def _abandon(user: User, reason: str) -> None:
    note = f"Return Password abandoned: {reason}."
    User.objects.filter(pk=user.pk).update(password_return_due_at=None, password_return_note=note[:NOTE_MAX])
    logger.warning("return password for user %s abandoned: %s", user.pk, reason)


def _write(*, user_id: int, password: str, password_hash: str, attempt: int) -> int:
    user = User.objects.filter(pk=user_id).only("contact_id").first()
    if user is None or user.contact_id is None:
        return 0
    # Only the holder of this password writes or reschedules it (the hash identifies it): a user who has
    # since chosen their own is left alone, and the next sweep abandons the return with the reason.
    still_ours = User.objects.filter(pk=user_id, password=password_hash)
    try:
        ontraport_client().update_contact(user.contact_id, {settings.FUSION_RETURN_PASSWORD_FIELD: password})
    except OntraportError as error:
        delay = min(
            RETRY_DELAY * 2 ** (attempt - 1), datetime.timedelta(seconds=settings.FUSION_RETRY_MAX_SECONDS)
        )
        due_at = timezone.now() + delay
        # The error names the status and Ontraport's answer, never the request that carried the password.
        note = (
            f"Return Password write {attempt} failed ({error}); "
            f"retrying with a new password at {due_at:%Y-%m-%d %H:%M:%S} UTC."
        )
        still_ours.update(password_return_due_at=due_at, password_return_note=note[:NOTE_MAX])
        logger.warning(
            "return password for user %s failed (attempt %s: %s); retry in %s", user_id, attempt, error, delay
        )
        return 0
    if not still_ours.update(password_return_due_at=None, password_return_note=""):
        User.objects.filter(pk=user_id).update(
            password_return_due_at=None,
            password_return_note=WRITTEN_TOO_LATE,
        )
    return 1


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS)
