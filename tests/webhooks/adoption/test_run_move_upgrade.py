"""Upgrading a site from before Run moved to the adoption app, with the real migrations, in a database made
for this test: its runs, the deliveries that point at them, the permissions granted on runs and their admin
history all follow the model (migrations accounts 0015, adoption 0001, webhooks 0008)."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[3]

BEFORE_THE_MOVE = [("accounts", "0014_outbox_change"), ("webhooks", "0007_wrong_key_window"), ("admin", None)]

# Written with the tree before the move: a run, who may view runs (a group's permission on accounts.run),
# its admin history, and a delivery the run logged.
SEED = """
import json
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from accounts.models import User
from webhooks.adoption.models import Run
from webhooks.models import Delivery

run_type = ContentType.objects.get(app_label="accounts", model="run")
run = Run.objects.create(kind="import", arguments={"tag_id": 1}, started_from="command", state="done")
viewers = Group.objects.create(name="run viewers")
viewers.permissions.add(Permission.objects.get(content_type=run_type, codename="view_run"))
auditor = User.objects.create(username="auditor", is_staff=True)
auditor.groups.add(viewers)
LogEntry.objects.create(
    user=auditor, content_type=run_type, object_id=str(run.pk), object_repr=str(run), action_flag=CHANGE,
    change_message="Started from the command",
)
delivery = Delivery.objects.create(
    source="import", run_id=run.pk, action="add", contact_id=7, method="", path=f"import run #{run.pk}",
    status="done",
)
print(json.dumps({"run": run.pk, "run_type": run_type.pk, "delivery": delivery.pk}))
"""

READ = """
import json
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from accounts.models import User
from webhooks.adoption.models import Run
from webhooks.models import Delivery

seeded = json.loads({seeded!r})
run = Run.objects.get(pk=seeded["run"])
run_type = ContentType.objects.get_for_model(Run)
entry = LogEntry.objects.get(object_id=str(run.pk))
print(json.dumps({{
    "run": [run.kind, run.state, run.arguments],
    "delivery_run": Delivery.objects.get(pk=seeded["delivery"]).run == run,
    "run_deliveries": list(run.deliveries.values_list("pk", flat=True)),
    "run_type": [run_type.pk, run_type.app_label, run_type.model],
    "run_types": sorted(ContentType.objects.filter(model="run").values_list("app_label", flat=True)),
    "group_permissions": sorted(
        f"{{p.content_type.app_label}}.{{p.codename}}"
        for p in Group.objects.get(name="run viewers").permissions.all()
    ),
    "auditor_may_view_runs": User.objects.get(username="auditor").has_perm("adoption.view_run"),
    "history": [
        entry.content_type_id,
        entry.content_type.model_class() is Run and entry.get_edited_object() == run,
    ],
}}))
"""


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: a file beside the test on SQLite; on PostgreSQL a database created
    for it on the test database's server, dropped afterwards."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "postgres")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    server = (
        f"postgres://{user}{password}@{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}"
    )
    name = f"test_fusion_upgrade_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database_url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "TASK_BACKEND": "immediate",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_runs_their_deliveries_permissions_and_history_follow_run_to_adoption(database_url):
    for app, migration in BEFORE_THE_MOVE:
        manage(database_url, "migrate", "--no-input", app, *([migration] if migration else []))
    seeded_text = manage(database_url, "shell", "--no-imports", "-c", SEED).strip().splitlines()[-1]
    seeded = json.loads(seeded_text)

    manage(database_url, "migrate", "--no-input")

    after = json.loads(manage(database_url, "shell", "--no-imports", "-c", READ.format(seeded=seeded_text)))
    assert after["run"] == ["import", "done", {"tag_id": 1}]
    assert after["delivery_run"] is True
    assert after["run_deliveries"] == [seeded["delivery"]]
    # The same content type row, relabelled: nothing points at a stale accounts.run.
    assert after["run_type"] == [seeded["run_type"], "adoption", "run"]
    assert after["run_types"] == ["adoption"]
    assert after["group_permissions"] == ["adoption.view_run"]
    assert after["auditor_may_view_runs"] is True
    assert after["history"] == [seeded["run_type"], True]
    manage(database_url, "makemigrations", "--check", "--dry-run")
