"""`manage.py webhook_urls [--base-url URL]`: the URLs to paste into Ontraport, access key filled in.

Printing the key is the point here (it is the site owner's own terminal); it is never logged.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks.sender_urls import webhook_urls_for_ontraport


class Command(BaseCommand):
    help = "Print the webhook URLs to paste into Ontraport rules and campaigns, with the access key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default=None,
            help="The site's public address, e.g. https://mydomain.com (default: settings.SITE_URL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["base_url"] or settings.SITE_URL
        if not base_url.startswith(("http://", "https://")):
            raise CommandError(f"the base URL must start with http:// or https:// (got {base_url!r})")
        for sender_url in webhook_urls_for_ontraport(
            base_url=base_url, access_key=settings.FUSION_ACCESS_KEY
        ):
            self.stdout.write(f"{sender_url.purpose}:\n  {sender_url.url}\n")
