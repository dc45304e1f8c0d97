"""`manage.py ontraport_import --tag Members`: a user for every contact holding the tag."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.ontraport import ontraport_bulk_client
from accounts.services.roles import role_resolve
from webhooks.adoption.foreground import run_in_foreground, tag_resolve
from webhooks.adoption.models import Run


class Command(BaseCommand):
    help = (
        "Create or link a user for every Ontraport contact holding a tag (the add rules: never a duplicate, "
        "staff never linked, no e-mail = skipped). Interrupted, the same command continues where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tag", required=True, help="The tag's name (as in Ontraport) or id.")
        parser.add_argument(
            "--role", default="", help="The role (group) of users created; default: the site's."
        )
        parser.add_argument("--notify", action="store_true", help="Send created users the welcome e-mail.")
        parser.add_argument("--dry-run", action="store_true", help="Write nothing; report what would happen.")
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many contacts.")
        parser.add_argument("--json", action="store_true", help="Print the summary as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be 1 or more.")
        if options["role"] and (refused := role_resolve(requested=options["role"]).refused):
            raise CommandError(f"--role: {refused} (create the group first, or leave --role out).")
        tag_id, tag_name = tag_resolve(
            name_or_id=options["tag"], client=ontraport_bulk_client(), dry_run=options["dry_run"]
        )
        arguments: dict[str, Any] = {"tag_id": tag_id, "tag_name": tag_name}
        if options["role"]:
            arguments["role"] = options["role"]
        if options["notify"]:
            arguments["notify"] = True
        if options["limit"]:
            arguments["limit"] = options["limit"]
        run_in_foreground(
            kind=Run.Kind.IMPORT,
            arguments=arguments,
            dry_run=options["dry_run"],
            as_json=options["json"],
            stdout=self.stdout,
        )
