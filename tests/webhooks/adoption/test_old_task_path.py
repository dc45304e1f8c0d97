"""Task rows queued before the adoption app moved into webhooks name their task by its old module path
(`fusion_site.adoption.tasks.runs_continue`); the database worker must still run them, as the same task."""

import pytest
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from tests.support.factories import RunFactory
from webhooks.adoption.models import Run
from webhooks.adoption.tasks import runs_continue
from webhooks.worker import ResilientWorker

# The worker commits and closes connections as it does in production: a transactional test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OLD_TASK_PATH = "fusion_site.adoption.tasks.runs_continue"


def test_a_row_queued_under_the_old_path_is_the_same_task_and_the_worker_runs_it(database_tasks):
    run = RunFactory(resync=True, started_from="admin")
    queued = DatabaseBackend("default", {}).enqueue(runs_continue, (), {})
    DBTaskResult.objects.filter(pk=queued.id).update(task_path=OLD_TASK_PATH)  # as an older release wrote it
    row = DBTaskResult.objects.get(pk=queued.id)

    assert row.task.func is runs_continue.func
    assert row.task.module_path == runs_continue.module_path

    ResilientWorker(
        queue_names=[row.queue_name], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=1, worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip

    row.refresh_from_db()
    assert (row.task_path, row.status) == (OLD_TASK_PATH, "SUCCESSFUL")
    assert row.return_value == f"run #{run.pk}: done"
    run.refresh_from_db()
    assert run.state == Run.State.DONE
