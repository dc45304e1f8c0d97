"""Delivery.run points at adoption.Run, the same table (accounts_run) under the app that owns runs: state
only, the column and its constraint are unchanged."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0007_wrong_key_window"),
        ("adoption", "0001_run_from_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="run",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="deliveries", to="adoption.run"),
                ),
            ],
        ),
    ]
