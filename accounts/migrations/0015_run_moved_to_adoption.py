"""Run now belongs to the adoption app (webhooks.adoption, migration 0001): forgotten here in state only,
its table (accounts_run) and rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_outbox_change"),
        ("webhooks", "0008_delivery_run_in_adoption"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Run")]),
    ]
