"""`manage.py deliveries_process`: drain the ready deliveries now, in this process, without a worker.

For operations (a worker is down, a backlog to clear by hand) and for TASK_BACKEND=immediate, where retries
have no worker to wake them.
"""

from typing import Any

from django.core.management.base import BaseCommand

from webhooks.tasks import process_deliveries


class Command(BaseCommand):
    help = "Process every delivery that is ready now, inline, and print the totals."

    def handle(self, *args: Any, **options: Any) -> None:
        totals = process_deliveries.call()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in totals.items()))
