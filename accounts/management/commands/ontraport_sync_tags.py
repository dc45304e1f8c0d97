"""`manage.py ontraport_sync_tags`: refresh the tag names from Ontraport's tag list."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.ontraport import ontraport_client
from accounts.services.tags import tags_sync_from_ontraport
from ontraport_client import OntraportError


class Command(BaseCommand):
    help = "Fetch Ontraport's tag list and store every tag's name."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = tags_sync_from_ontraport(client=ontraport_client())
        except OntraportError as error:
            raise CommandError(f"could not fetch the tag list from Ontraport: {error}") from error
        self.stdout.write(f"{count} tags in Ontraport; names stored.")
