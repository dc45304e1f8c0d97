"""Field mappings: which Ontraport fields the site copies, and "Load fields from Ontraport"
(accounts.services.fields_sync)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin.shared import LoadsFromOntraport, ontraport_errors_shown
from accounts.models import FieldMapping
from accounts.ontraport import ontraport_client
from accounts.services.fields_sync import field_mappings_sync_from_ontraport


@admin.register(FieldMapping)
class FieldMappingAdmin(LoadsFromOntraport[FieldMapping]):
    # The form's validation is the model's clean(): a user attribute must be one of USER_ATTRIBUTES, so a
    # mapping can never make is_staff or groups webhook-controlled.
    list_display = ("ontraport_field", "label", "target", "attribute", "enabled")
    list_editable = ("enabled",)
    list_filter = ("enabled", "target")
    search_fields = ("ontraport_field", "label", "attribute")
    actions = ("load_from_ontraport",)
    load_path, load_url_name = "load/", "accounts_fieldmapping_load"
    readonly_fields = ("options",)  # loaded from Ontraport's field list, not typed in

    @admin.action(description="Load fields from Ontraport", permissions=["add", "change"])
    def load_from_ontraport(self, request: HttpRequest, queryset: QuerySet[FieldMapping]) -> None:
        self.load_all(request)

    def load_all(self, request: HttpRequest) -> None:
        with ontraport_errors_shown(request, self, could_not="load fields from Ontraport"):
            created = field_mappings_sync_from_ontraport(client=ontraport_client())
            self.message_user(
                request,
                f"Loaded fields from Ontraport: {created} new mappings, created disabled; "
                "labels of existing mappings updated. Enable the ones the site should copy.",
            )
