"""`manage.py check` says when no worker is alive: the most likely production mistake, since webhooks are
still answered 202 and stored, and simply pile up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError

from webhooks.telemetry.selectors import workers_health
from webhooks.wakeup import can_wait


@register("fusion_workers")
def workers_alive_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.FUSION_WORKER_CHECK:
        return []  # make run: its supervisor starts the worker and reports its death (fusion_site.dev)
    if not can_wait():
        return []  # an inline task backend applies webhooks in the request: there is no worker to miss
    try:
        health = workers_health()
    except DatabaseError:
        # No database yet (before `migrate`, or unreachable): other checks and commands say so.
        return []
    if health.ok:
        return []
    return [
        Warning(
            health.problem,
            hint="Run `python manage.py fusion_worker` on at least one machine (Procfile: worker).",
            id="fusion.W001",
        )
    ]
