"""`manage.py deliveries_replay (--failed | --id N ... | --contact N | --since ISO) [--dry-run]`.

The selectors combine (--failed --since 2024-05-01: failed ones received since then); at least one is
required, so a bare command never replays the whole log.
"""

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from webhooks.models import Delivery
from webhooks.selectors import deliveries_replayable
from webhooks.services.replay import NOT_REPLAYABLE, deliveries_replay


def parse_since(raw: str) -> datetime.datetime:
    """An ISO date or date-time; a naive one is read in the site's time zone."""
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise ValueError(raw)
        moment = datetime.datetime.combine(day, datetime.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Put finished deliveries back in the queue, so their contacts are fetched and applied again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--failed", action="store_true", help="Every failed delivery.")
        parser.add_argument("--id", type=int, nargs="+", dest="ids", metavar="N", help="These deliveries.")
        parser.add_argument("--contact", type=int, metavar="N", help="Deliveries for this contact id.")
        parser.add_argument("--since", metavar="ISO", help="Deliveries received since this date or time.")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be replayed.")

    def handle(self, *args: Any, **options: Any) -> None:
        selected = self._select(options)
        total = selected.count()
        if options["dry_run"]:
            replayable = deliveries_replayable(queryset=selected).count()
            self.stdout.write(f"would replay {replayable} of {total} selected deliveries (dry run)")
            return
        replayed = deliveries_replay(queryset=selected, by="manage.py deliveries_replay")
        self.stdout.write(f"replayed {replayed} of {total} selected deliveries")
        if replayed < total:
            self.stdout.write(f"skipped {total - replayed}: {NOT_REPLAYABLE}")

    def _select(self, options: dict[str, Any]) -> QuerySet[Delivery]:
        if not (options["failed"] or options["ids"] or options["contact"] is not None or options["since"]):
            raise CommandError("say which deliveries: --failed, --id N ..., --contact N and/or --since ISO")
        selected = Delivery.objects.all()
        if options["failed"]:
            selected = selected.filter(status=Delivery.Status.FAILED)
        if options["ids"]:
            selected = selected.filter(id__in=options["ids"])
        if options["contact"] is not None:
            selected = selected.filter(contact_id=options["contact"])
        if options["since"]:
            try:
                selected = selected.filter(received_at__gte=parse_since(options["since"]))
            except ValueError:
                raise CommandError(f"--since: not an ISO date or date-time: {options['since']!r}") from None
        return selected
