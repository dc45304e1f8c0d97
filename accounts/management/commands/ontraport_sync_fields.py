"""`manage.py ontraport_sync_fields`: load Ontraport's contact fields as (disabled) field mappings."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import FieldMapping
from accounts.ontraport import ontraport_client
from accounts.services.fields_sync import field_mappings_sync_from_ontraport
from ontraport_client import OntraportError


class Command(BaseCommand):
    help = (
        "Fetch Ontraport's contact fields: add a disabled profile mapping for each new one and update the "
        "labels of mapped ones. Nothing is enabled: do that in the admin."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = field_mappings_sync_from_ontraport(client=ontraport_client())
        except OntraportError as error:
            raise CommandError(f"could not fetch the contact fields from Ontraport: {error}") from error
        enabled = FieldMapping.objects.filter(enabled=True).count()
        total = FieldMapping.objects.count()
        self.stdout.write(f"{created} new field mappings (disabled); {enabled} of {total} mappings enabled.")
