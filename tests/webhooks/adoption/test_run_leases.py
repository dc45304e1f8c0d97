"""A run's lease is free at once when its holder's process (on this machine) is gone, and never taken
from a live holder before it runs out."""

import datetime
import socket
import subprocess
import sys

import pytest
from django.utils import timezone

from tests.support.factories import RunFactory
from webhooks.adoption.leases import run_claim
from webhooks.adoption.models import Run
from webhooks.telemetry.process_id import process_id_new

pytestmark = pytest.mark.django_db


def held_run(owner: str) -> Run:
    return RunFactory(
        resync=True, state=Run.State.RUNNING, lease_owner=owner,
        lease_expires_at=timezone.now() + datetime.timedelta(minutes=5),
    )  # fmt: skip


def test_a_lease_whose_holder_process_is_gone_is_taken_at_once():
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    run = held_run(f"{socket.gethostname()}:{killed.pid}:abcd1234")

    owner = process_id_new()
    taken = run_claim(run_id=run.pk, owner=owner)

    assert taken is not None and taken.lease_owner == owner


def test_a_live_holders_lease_and_another_machines_are_not_taken_before_they_run_out():
    for holder in (process_id_new(), f"elsewhere-{socket.gethostname()}:1:abcd1234"):
        run = held_run(holder)
        assert run_claim(run_id=run.pk, owner=process_id_new()) is None
        run.refresh_from_db()
        assert run.lease_owner == holder
