"""The admin's history (Django's LogEntry) for changes made outside a model's own form: test webhooks,
replays, imports, resyncs, subscriptions, links. Each object's "History" page then says who did what."""

from collections.abc import Iterable
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.db import models
from django.http import HttpRequest


def history_record(*, actor: Any, objects: Iterable[models.Model], message: str, added: bool = False) -> None:
    """One LogEntry per object, by `actor` (nothing when there is none: a command or the schedule, whose
    rows say so in their own fields; nor for an anonymous user)."""
    objects = list(objects)
    if getattr(actor, "pk", None) is None or not objects:
        return
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=objects,
        action_flag=ADDITION if added else CHANGE,
        change_message=message[:2000],
    )


def actor_of(request: HttpRequest) -> Any:
    """The signed-in user of `request` as a user row (what `started_by`, `created_by` and `by` point at),
    or None."""
    return request.user if isinstance(request.user, get_user_model()) else None
