"""A dry run writes nothing at all: `manage.py ontraport_import --dry-run`, run as its own process against
the site's database and the sandbox, leaves every table of the site as it was, tag names included (it used
to store Ontraport's tag list when the tag's name was not known yet)."""

import json
import subprocess
import sys

import pytest
from django.apps import apps
from django.db import connection

from tests.support.paths import BASE_DIR
from tests.support.processes import site_env

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


# The one exception: /metrics' counters. The dry run's Ontraport calls were really made and spent the
# account's budget, so they are counted like every other call; no site data is involved.
TELEMETRY = "telemetry"


def _row_counts() -> dict[str, int]:
    """Every table of the project's models but telemetry's, with its number of rows."""
    counts = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.app_label == TELEMETRY:
                continue
            table = model._meta.db_table
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def test_a_dry_run_import_by_tag_name_writes_no_row_anywhere(site_sandbox):
    site_sandbox.add_contacts(
        [
            {"email": f"dry{n}@example.com", "contact_cat": "*/*1*/*", "firstname": f"Dry{n}"}
            for n in range(60)
        ]
    )
    before = _row_counts()
    assert before["accounts_tag"] == 0  # the site does not know "Members" yet: its name is looked up

    command = [sys.executable, "manage.py", "ontraport_import", "--tag", "Members", "--dry-run", "--json"]
    finished = subprocess.run(
        command,
        cwd=BASE_DIR,
        env=site_env(site_sandbox),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert (summary["dry_run"], summary["processed"], summary["created"]) == (True, 67, 67)
    assert _row_counts() == before
