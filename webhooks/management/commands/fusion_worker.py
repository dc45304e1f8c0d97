"""`manage.py fusion_worker`: django-tasks-db's `db_worker` plus a heartbeat, the site's worker process.

It takes db_worker's options. A background thread records a heartbeat every FUSION_HEARTBEAT_SECONDS,
whether the queue is busy or idle, so /readyz, /metrics, `manage.py check` and the admin can tell that a
worker is alive; a clean stop (SIGTERM, Ctrl-C) is recorded at once, a killed worker stops beating. With
each beat it renews the leases of the claims this process holds (webhooks.services.leases) and makes sure a
wake-up waits for any delivery that is due (webhooks.tasks.wake_worker_if_due: a lost wake-up heals
within one beat).
SIGTERM lets the running drain finish its batch first (at most webhooks.tasks.DRAIN_SECONDS).
A transient database error (an outage, a cut connection, a failover) never ends it: it waits with backoff,
reconnects and carries on (webhooks.worker); so does the heartbeat.
"""

import os
from argparse import ArgumentParser
from typing import Any

from django.core.checks.registry import registry as checks_registry
from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from webhooks.services.leases import deliveries_lease_renew
from webhooks.tasks import wake_worker_if_due
from webhooks.telemetry.heartbeat import HeartbeatThread
from webhooks.telemetry.process_id import process_id_new, process_id_prefix
from webhooks.worker import ResilientWorker

# "No worker is running" (fusion.W001) is not news to the worker that is starting: the check is for the
# web processes and `manage.py check`.
WORKER_CHECK_TAG = "fusion_workers"


class Command(DbWorkerCommand):
    help = "Run the site's worker: django-tasks-db's db_worker with a heartbeat (see docs/operations.md)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # hostname:pid:random, so the admin and logs say which machine and process a worker is.
        parser.set_defaults(worker_id=process_id_new()[:64])

    def check(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("tags") is None:
            kwargs["tags"] = [tag for tag in checks_registry.tags_available() if tag != WORKER_CHECK_TAG]
        super().check(*args, **kwargs)

    def handle(self, *args: Any, **options: Any) -> None:
        # With --reload the command runs twice: a parent that only watches files and restarts the child
        # that does the work. Only the working process beats, so a dead child is not hidden.
        reloading = options.get("reload") and not options.get("batch")
        if reloading and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            self._worker_run(**options)
            return
        holder = process_id_prefix()

        def on_beat() -> None:
            deliveries_lease_renew(holder_prefix=holder)
            wake_worker_if_due()

        heartbeat = HeartbeatThread(worker_id=options["worker_id"], on_beat=on_beat)
        heartbeat.start()
        try:
            self._worker_run(**options)
        finally:
            heartbeat.stop()

    def _worker_run(self, **options: Any) -> None:
        """db_worker's handle, with the worker that outlives database outages (webhooks.worker)."""
        self.configure_logging(options["verbosity"])
        reload = options["reload"] and not options["batch"]
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        if not reload:
            worker.configure_signals()
            worker.run()
            return
        if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            worker.configure_signals()  # only the child that works handles signals (as db_worker does)
        run_with_reloader(worker.run)
