"""`manage.py deliveries_prune [--days 90] [--dry-run]`: delete finished deliveries older than N days."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks.selectors import deliveries_prunable
from webhooks.services.retention import deliveries_prune


class Command(BaseCommand):
    help = "Delete finished (done, failed, rejected) deliveries received more than --days days ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=90, help="Keep this many days of the log (default 90)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        days: int = options["days"]
        if days < 0:
            raise CommandError("--days must be 0 or more")
        if options["dry_run"]:
            count = deliveries_prunable(older_than_days=days).count()
            self.stdout.write(f"would delete {count} finished deliveries older than {days} days (dry run)")
            return
        deleted = deliveries_prune(older_than_days=days)
        self.stdout.write(f"deleted {deleted} finished deliveries older than {days} days")
