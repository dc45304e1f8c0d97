"""`manage.py fusion_worker`: django-tasks-db's `db_worker` plus a heartbeat, the site's worker process.

It takes db_worker's options. A background thread records a heartbeat every FUSION_HEARTBEAT_SECONDS,
whether the queue is busy or idle, so /readyz, /metrics, `manage.py check` and the admin can tell that a
worker is alive; a clean stop (SIGTERM, Ctrl-C) is recorded at once, a killed worker stops beating. With
each beat it renews the leases of the claims this process holds (webhooks.leases) and makes sure a
wake-up waits for any delivery that is due (webhooks.tasks.wake_worker_if_due: a lost wake-up heals
within one beat).
SIGTERM lets the running drain finish its batch first (at most webhooks.tasks.DRAIN_SECONDS).
"""

import os
from argparse import ArgumentParser
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from fusion_site.telemetry.heartbeat import HeartbeatThread, worker_id_new
from webhooks.leases import deliveries_lease_renew, process_holder_prefix
from webhooks.tasks import wake_worker_if_due


class Command(DbWorkerCommand):
    help = "Run the site's worker: django-tasks-db's db_worker with a heartbeat (see docs/operations.md)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # hostname:pid:random, so the admin and logs say which machine and process a worker is.
        parser.set_defaults(worker_id=worker_id_new()[:64])

    def handle(self, *args: Any, **options: Any) -> None:
        # With --reload the command runs twice: a parent that only watches files and restarts the child
        # that does the work. Only the working process beats, so a dead child is not hidden.
        reloading = options.get("reload") and not options.get("batch")
        if reloading and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            super().handle(*args, **options)
            return
        holder = process_holder_prefix()

        def on_beat() -> None:
            deliveries_lease_renew(holder_prefix=holder)
            wake_worker_if_due()

        heartbeat = HeartbeatThread(worker_id=options["worker_id"], on_beat=on_beat)
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stop()
