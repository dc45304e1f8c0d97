"""Storing webhooks as Delivery rows — the durable log everything else works from."""

import datetime
from collections.abc import Mapping

from django.http import HttpRequest
from django.utils import timezone

from fusion_site.masking import mask_text
from webhooks.models import Delivery
from webhooks.params import WebhookParams, clean_text, parse_flag

PATH_MAX = 2000


def request_source_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def request_path_masked(request: HttpRequest) -> str:
    return clean_text(mask_text(request.get_full_path()), PATH_MAX)


def delivery_record(
    request: HttpRequest,
    params: WebhookParams,
    *,
    action: str,
    contact_id: int | None,
    test: bool = False,
    extra_options: Mapping[str, object] | None = None,
) -> Delivery:
    """Store an accepted webhook: one INSERT, the least a receiver that loses nothing can do.
    `extra_options`: what else the sender said (a subscription event: its type and tag)."""
    options: dict[str, object] = dict(extra_options or {})
    # Masked like the path: a sender that put the key (or a password) in another parameter must not have
    # it stored either.
    if role := clean_text(mask_text(params.role or ""), 150):
        options["role"] = role
    if parse_flag(params.send_notification):
        options["send_notification"] = True
    if email := clean_text(mask_text(params.email or ""), 254):
        options["email"] = email
    now = timezone.now()
    return Delivery.objects.create(
        **_about_the_request(request, now),
        action=action,
        contact_id=contact_id,
        options=options,
        status=Delivery.Status.DONE if test else Delivery.Status.PENDING,
        message="test webhook: access key accepted" if test else "",
        finished_at=now if test else None,
    )


def delivery_reject(request: HttpRequest, *, reason: str, message: str, action: str) -> Delivery:
    """Record a malformed webhook (its key was valid) so the site owner sees it in the log."""
    now = timezone.now()
    return Delivery.objects.create(
        **_about_the_request(request, now),
        finished_at=now,
        action=action,
        status=Delivery.Status.REJECTED,
        reason=reason,
        message=message,
    )


def _about_the_request(request: HttpRequest, now: datetime.datetime) -> dict[str, object]:
    """What every stored webhook records of its request (the key masked)."""
    return {
        "received_at": now,
        "updated_at": now,
        "next_attempt_at": now,
        "method": request.method or "",
        "path": request_path_masked(request),
        "source_ip": request_source_ip(request),
    }
