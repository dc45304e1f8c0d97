"""`manage.py ontraport_resync --all`: bring linked users in step with their contacts."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.identity import email_key
from accounts.models import User
from accounts.ontraport import ontraport_bulk_client
from webhooks.adoption.foreground import run_in_foreground, tag_resolve
from webhooks.adoption.models import Run


class Command(BaseCommand):
    help = (
        "Bring linked users in step with their Ontraport contacts (the update rules), 50 contacts per call. "
        "Interrupted, the same command continues where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tag", help="Linked users holding this tag (name or id).")
        which.add_argument("--user", nargs="+", metavar="ID_OR_EMAIL", help="These users.")
        which.add_argument("--all", action="store_true", help="Every linked user.")
        parser.add_argument("--dry-run", action="store_true", help="Write nothing; report what would happen.")
        parser.add_argument("--json", action="store_true", help="Print the summary as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        arguments: dict[str, Any]
        if options["tag"]:
            tag_id, tag_name = tag_resolve(
                name_or_id=options["tag"], client=ontraport_bulk_client(), dry_run=options["dry_run"]
            )
            arguments = {"tag_id": tag_id, "tag_name": tag_name}
        elif options["user"]:
            arguments = {"user_ids": self._user_ids(options["user"])}
        else:
            arguments = {"all": True}
        run_in_foreground(
            kind=Run.Kind.RESYNC,
            arguments=arguments,
            dry_run=options["dry_run"],
            as_json=options["json"],
            stdout=self.stdout,
        )

    def _user_ids(self, given: list[str]) -> list[int]:
        ids: list[int] = []
        for text in given:
            user = _user_by_id_or_email(text.strip())
            if user is None:
                raise CommandError(f"No user {text!r} (give a user id or an e-mail address).")
            if user.contact_id is None:
                raise CommandError(f"User {user.username} is not linked to an Ontraport contact.")
            ids.append(user.pk)
        return sorted(set(ids))


def _user_by_id_or_email(text: str) -> User | None:
    """A user id (ASCII digits), or an e-mail address compared on its normalised key as everywhere
    (accounts.identity.email_key): never on the database's case folding, which lets look-alikes match."""
    if text.isascii() and text.isdigit():
        return User.objects.filter(pk=int(text)).first()
    key = email_key(text)
    return User.objects.filter(email_key=key).first() if key else None
