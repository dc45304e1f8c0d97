"""Data: the default role's group, and the field mappings every site starts with."""

from django.conf import settings
from django.db import migrations

DEFAULT_MAPPINGS = [
    # (Ontraport field, label, target, attribute)
    ("firstname", "First Name", "user", "first_name"),
    ("lastname", "Last Name", "user", "last_name"),
    ("email", "Email", "user", "email"),
]


def create_defaults(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    FieldMapping = apps.get_model("accounts", "FieldMapping")
    Group.objects.get_or_create(name=settings.FUSION_DEFAULT_ROLE)
    for field, label, target, attribute in DEFAULT_MAPPINGS:
        FieldMapping.objects.get_or_create(
            target=target, attribute=attribute, defaults={"ontraport_field": field, "label": label}
        )


def remove_defaults(apps, schema_editor):
    FieldMapping = apps.get_model("accounts", "FieldMapping")
    for field, _label, target, attribute in DEFAULT_MAPPINGS:
        FieldMapping.objects.filter(ontraport_field=field, target=target, attribute=attribute).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
