"""What a run (import, resync, sweep) writes to the deliveries log, through webhooks' own service."""

import pytest

from tests.support.factories import RunFactory, UserFactory
from webhooks.models import Delivery
from webhooks.services.recording import RunContactLogged, deliveries_log_run

pytestmark = pytest.mark.django_db


def test_each_contact_is_one_finished_row_named_after_the_run():
    user = UserFactory(username="ada")
    run = RunFactory(arguments={"tag_id": 1, "role": "member"})

    written = deliveries_log_run(
        run_id=run.pk,
        source=run.kind,
        action="add",
        contacts=[
            RunContactLogged(
                contact_id=7, user_id=user.pk, failed=False, reason="", message="created", role="member"
            ),
            RunContactLogged(contact_id=8, user_id=None, failed=True, reason="no_email", message="x" * 2500),
        ],
    )  # fmt: skip

    assert written == 2
    done, failed = Delivery.objects.filter(run=run).order_by("contact_id")
    for row in (done, failed):
        assert (row.source, row.action, row.method) == ("import", "add", "")
        assert row.path == f"import run #{run.pk}"
        assert row.attempts == 1 and row.claimed_by == "" and row.lease_expires_at is None
        assert row.received_at == row.updated_at == row.finished_at == row.next_attempt_at
    assert (done.status, done.reason, done.message, done.user_id) == ("done", "", "created", user.pk)
    assert done.options == {"role": "member"}
    assert (failed.status, failed.reason, failed.user_id, failed.options) == ("failed", "no_email", None, {})
    assert failed.message == "x" * 2000


def test_a_done_contact_keeps_no_reason_and_a_resync_is_named_so():
    run = RunFactory(resync=True)

    deliveries_log_run(
        run_id=run.pk,
        source=run.kind,
        action="update",
        contacts=[RunContactLogged(contact_id=3, user_id=None, failed=False, reason="ignored", message="ok")],
    )

    row = Delivery.objects.get(run=run)
    assert (row.source, row.action, row.path, row.status, row.reason) == (
        "resync", "update", f"resync run #{run.pk}", "done", "",
    )  # fmt: skip
