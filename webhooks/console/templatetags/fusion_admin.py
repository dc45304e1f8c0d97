"""The admin's frame on every page (fusion_site/templates/admin/base_site.html): the site's name instead of
"Django administration", and the worker-down warning while it lasts."""

import datetime

from django import template
from django.conf import settings
from django.http import HttpRequest

from webhooks.telemetry.selectors import workers_health
from webhooks.wakeup import can_wait

register = template.Library()


@register.simple_tag
def site_name() -> str:
    return str(settings.FUSION_SITE_NAME)


@register.simple_tag
def worker_problem(request: HttpRequest | None) -> str:
    """Why webhooks are not being applied, for a staff member's every admin page ("" when a worker runs).

    Two index lookups on the heartbeat table (one row per worker process), never a read of the queue; an
    inline task backend (webhooks applied in the request) needs no worker, so it never warns."""
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff or not can_wait():
        return ""
    return workers_health().problem


@register.filter
def duration_words(value: datetime.timedelta | None) -> str:
    """`16 minutes`, `2 hours 5 minutes`, `40 seconds`: an age the owner reads at a glance."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    hours, minutes = divmod(seconds // 60, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
