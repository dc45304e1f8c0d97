import importlib
import sys
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Task rows name their task by module path, and the worker imports it by that path: rows queued before this
# app moved into webhooks (fusion_site.adoption) must still find their task.
MOVED_TASK_MODULES = {"fusion_site.adoption.tasks": "webhooks.adoption.tasks"}


class AdoptionConfig(AppConfig):
    """Adopting an Ontraport account and keeping in step: import, resync and the scheduled sweep.

    Sits above webhooks (it logs to the deliveries log) and accounts (it applies contacts through the
    accounts service); neither imports it."""

    name = "webhooks.adoption"
    label = "adoption"  # the app label of its tables and migrations, kept from before the move

    def ready(self) -> None:
        post_migrate.connect(_sweep_schedule_after_migrate, sender=self)
        for old, new in MOVED_TASK_MODULES.items():
            sys.modules.setdefault(old, importlib.import_module(new))


def _sweep_schedule_after_migrate(**kwargs: Any) -> None:
    """Every deploy (and `make run`) migrates: that is where the first sweep gets scheduled, so no cron is
    needed. Each sweep then schedules the next one when it finishes."""
    from webhooks.adoption.tasks import sweep_schedule

    sweep_schedule()
