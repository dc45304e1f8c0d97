"""Run, defined in accounts until now, belongs to this app: the model moves, its table does not.

State only (SeparateDatabaseAndState): the rows stay in accounts_run. The run's content type is relabelled,
so the permissions granted on runs (view_run ...) and the admin history of each run follow it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_to(app_label_from: str, app_label_to: str):  # type: ignore[no-untyped-def]
    def relabel(apps, schema_editor):  # type: ignore[no-untyped-def]
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
        if not content_types.filter(app_label=app_label_to, model="run").exists():
            content_types.filter(app_label=app_label_from, model="run").update(app_label=app_label_to)

    return relabel


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0014_outbox_change"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Run",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("import", "Import"), ("resync", "Resync"), ("sweep", "Sweep")], max_length=16)),
                        ("arguments", models.JSONField(blank=True, default=dict)),
                        ("started_from", models.CharField(blank=True, help_text="command, admin or schedule", max_length=16)),
                        ("state", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("interrupted", "Interrupted"), ("done", "Done"), ("failed", "Failed")], default="queued", max_length=16)),
                        ("message", models.TextField(blank=True, help_text="Why it stopped or failed, in words.")),
                        ("cursor", models.PositiveBigIntegerField(default=0, help_text="The last contact id (import) or user id (resync, sweep) finished.")),
                        ("paging_offset", models.PositiveIntegerField(blank=True, help_text="The next offset, when paging by offset (the id condition was ignored).", null=True)),
                        ("total", models.PositiveIntegerField(blank=True, help_text="As Ontraport counted at the start.", null=True)),
                        ("processed", models.PositiveIntegerField(default=0)),
                        ("created", models.PositiveIntegerField(default=0)),
                        ("linked", models.PositiveIntegerField(default=0)),
                        ("updated", models.PositiveIntegerField(default=0)),
                        ("unchanged", models.PositiveIntegerField(default=0)),
                        ("skipped", models.PositiveIntegerField(default=0)),
                        ("calls", models.PositiveIntegerField(default=0, help_text="Ontraport calls spent.")),
                        ("lease_owner", models.CharField(blank=True, max_length=96)),
                        ("lease_expires_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("due_at", models.DateTimeField(blank=True, help_text="A scheduled sweep starts no earlier.", null=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("started_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "accounts_run",
                        "ordering": ["-id"],
                        "constraints": [models.UniqueConstraint(condition=models.Q(("kind", "sweep"), ("state__in", ["queued", "running", "interrupted"])), fields=("kind",), name="accounts_run_one_open_sweep")],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_to("accounts", "adoption"), content_type_to("adoption", "accounts")),
    ]
