"""`manage.py ontraport_user <e-mail or contact id> [--json]`: what the site holds for one contact."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.selectors import user_find, user_summary


class Command(BaseCommand):
    help = "Show a user's Ontraport link, roles, tags and profile, found by e-mail or contact id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("who", metavar="EMAIL_OR_CONTACT_ID")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_find(email_or_contact_id=options["who"])
        if user is None:
            raise CommandError(f"no such user: {options['who']!r} (give an e-mail address or a contact id)")
        summary = user_summary(user=user)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, sort_keys=True))
            return
        for key in ("username", "email", "first_name", "last_name", "contact_id", "is_active"):
            self.stdout.write(f"{key}: {summary[key]}")
        self.stdout.write(f"roles: {', '.join(summary['roles']) or '—'}")
        self.stdout.write(f"tags: {', '.join(summary['tags']) or '—'}")
        self.stdout.write("profile:" if summary["profile"] else "profile: —")
        for key, value in sorted(summary["profile"].items()):
            self.stdout.write(f"  {key}: {value}")
