"""Loading Ontraport's contact field list into FieldMapping rows, so the site owner only has to switch on
the fields they want (WP Fusion's "Load fields from Ontraport" button)."""

from django.db import transaction
from django.utils.text import slugify

from accounts.models import FieldMapping
from ontraport_client import OntraportClient

# Fields that are never worth a profile value: the contact id is User.contact_id already, and the tag
# string is applied as the user's tags.
NOT_MAPPABLE = frozenset({"id", "contact_cat"})

KEY_MAX = FieldMapping._meta.get_field("ontraport_field").max_length or 64
ATTRIBUTE_MAX = FieldMapping._meta.get_field("attribute").max_length or 64
# Labels of Ontraport fields that mean a user attribute: loaded as that mapping (disabled, like the rest)
# instead of a profile value the owner would have to re-map by hand.
USER_ATTRIBUTE_LABELS = {"username": "username", "user name": "username", "wordpress username": "username"}
LABEL_MAX = FieldMapping._meta.get_field("label").max_length or 255


@transaction.atomic
def field_mappings_sync_from_ontraport(*, client: OntraportClient) -> int:
    """Create a *disabled* profile mapping for every Ontraport field not mapped yet (keyed by its label, see
    `profile_key`; a field labelled "Username" as the username mapping), and refresh the labels (and
    dropdown options) of mapped ones. Returns how many mappings were created.

    Nothing is ever enabled here: which Ontraport data lands on the site is the site owner's decision, made
    in the admin. A field whose key is already used as a profile key by another mapping is left alone
    rather than breaking the one-source-per-target rule.
    """
    remote = [field for field in client.contact_fields() if field.key not in NOT_MAPPABLE]
    by_key: dict[str, list[FieldMapping]] = {}
    for mapping in FieldMapping.objects.filter(ontraport_field__in=[field.key for field in remote]):
        by_key.setdefault(mapping.ontraport_field, []).append(mapping)
    profile_keys_taken = set(
        FieldMapping.objects.filter(target=FieldMapping.Target.PROFILE).values_list("attribute", flat=True)
    )
    user_attributes_taken = set(
        FieldMapping.objects.filter(target=FieldMapping.Target.USER).values_list("attribute", flat=True)
    )

    relabelled: list[FieldMapping] = []
    created: list[FieldMapping] = []
    for field in remote:
        label = field.label[:LABEL_MAX]
        options = dict(field.options)
        if field.key in by_key:
            for mapping in by_key[field.key]:
                if (mapping.label, mapping.options) != (label, options):
                    mapping.label, mapping.options = label, options
                    relabelled.append(mapping)
        elif len(field.key) > KEY_MAX:
            continue
        elif (attribute := USER_ATTRIBUTE_LABELS.get(label.strip().casefold())) and (
            attribute not in user_attributes_taken
        ):
            created.append(
                FieldMapping(
                    ontraport_field=field.key,
                    label=label,
                    target=FieldMapping.Target.USER,
                    attribute=attribute,
                    options=options,
                    enabled=False,
                )
            )
            user_attributes_taken.add(attribute)
        elif (key := profile_key(label=label, field_key=field.key, taken=profile_keys_taken)) is not None:
            created.append(
                FieldMapping(
                    ontraport_field=field.key,
                    label=label,
                    target=FieldMapping.Target.PROFILE,
                    attribute=key,
                    options=options,
                    enabled=False,
                )
            )
            profile_keys_taken.add(key)
    FieldMapping.objects.bulk_update(relabelled, ["label", "options"])
    FieldMapping.objects.bulk_create(created)
    return len(created)


def profile_key(*, label: str, field_key: str, taken: set[str]) -> str | None:
    """The profile key a loaded field is stored under: its label as an identifier ("Membership Level" →
    `membership_level`), so profiles read as the owner named the fields, not as Ontraport's ids (`f1535`).
    The field's key when the label gives none or is taken; None when both are taken."""
    for key in (slugify(label).replace("-", "_")[:ATTRIBUTE_MAX], field_key):
        if key and key not in taken:
            return key
    return None
