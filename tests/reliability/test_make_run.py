"""make run's processes as make run starts them: a worker that dies is started again while the site runs
on, Ctrl-C stops the worker cleanly (its heartbeat is recorded stopped at once, not left "running" until it
goes stale), no false "no worker is running" while the worker starts, and a restarted demo sandbox keeps
its account, so a new contact never gets the id of one a user is linked to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model

from fusion_site.dev import LAUNCHER_ENV, procfile_lines
from ontraport_client.sandbox import SandboxControl
from ontraport_client.testing import unused_port
from tests.support.factories import UserFactory
from tests.support.paths import BASE_DIR
from tests.support.processes import site_env
from tests.support.waiting import wait_until
from webhooks.telemetry.models import WorkerHeartbeat

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
User = get_user_model()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_restarts_a_dead_worker_and_ctrl_c_records_its_clean_stop(
    site_sandbox, processes, tmp_path: Path
):
    web_port = unused_port()
    procfile = tmp_path / "Procfile"
    lines = procfile_lines(python=sys.executable, use_sandbox=False, web_port=web_port)
    procfile.write_text("\n".join(lines) + "\n")
    env = site_env(site_sandbox, FUSION_HEARTBEAT_SECONDS=0.5, **LAUNCHER_ENV)
    honcho = processes.start("honcho", [sys.executable, "-m", "honcho", "-f", str(procfile), "start"], env)
    worker_pids: list[int] = []
    try:
        first = wait_until(WorkerHeartbeat.objects.first, timeout=60, what=lambda: processes.logs())
        worker_pids.append(first.pid)
        os.kill(first.pid, signal.SIGKILL)  # the worker dies (an OOM kill, a crash)

        second = wait_until(
            lambda: WorkerHeartbeat.objects.exclude(pid=first.pid).first(),
            timeout=30,
            what=lambda: f"the worker to be started again\n{processes.logs()}",
        )
        worker_pids.append(second.pid)
        assert honcho.poll() is None, processes.logs()  # the site did not stop with it
        assert requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=10).status_code == 200
        assert f"make run: the worker (pid {first.pid}) was killed by SIGKILL" in processes.logs()

        honcho.send_signal(signal.SIGINT)  # Ctrl-C
        honcho.wait(timeout=30)
        wait_until(
            lambda: WorkerHeartbeat.objects.get(pk=second.pk).stopped_at is not None,
            timeout=15,
            what=lambda: f"the worker's clean stop to be recorded\n{processes.logs()}",
        )
        wait_until(lambda: not alive(second.pid), timeout=15, what="the worker to exit")
        log = processes.logs()
        assert "fusion.W001" not in log  # no "no worker is running" from the processes starting it
    finally:
        for pid in worker_pids:  # the worker runs in a session of its own: not in honcho's group
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_starting_worker_does_not_warn_that_no_worker_is_running(site_sandbox, processes):
    # With the check on (production's default) and no worker ever seen: `manage.py check` warns...
    env = site_env(site_sandbox, FUSION_HEARTBEAT_SECONDS=0.5)
    check = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "fusion.W001" in check.stderr
    # ...but the worker that is starting does not say it about itself.
    worker = processes.fusion_worker(env)
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    assert worker.poll() is None
    assert "fusion.W001" not in processes.logs()


def start_sandbox(processes: Any, port: int, state: Path) -> subprocess.Popen[bytes]:
    """The sandbox as make run's Procfile starts it, on a free port and a temporary state file."""
    line = procfile_lines(python=sys.executable, use_sandbox=True, sandbox_port=port, sandbox_state=state)
    command = line[-1].split(": ", 1)[1].split()
    assert command[-2:] == ["--state", str(state)]
    process = processes.start("sandbox", [*command, "--quiet", "--rate-limit", "0"], dict(os.environ))
    control = SandboxControl(f"http://127.0.0.1:{port}/_sandbox/")
    wait_until(lambda: _answers(control), timeout=30, what="the sandbox")
    return process


def _answers(control: SandboxControl) -> bool:
    try:
        control.stats()
    except Exception:
        return False
    return True


def test_the_demo_stays_consistent_across_a_sandbox_restart(processes, settings, webhook, tmp_path: Path):
    from accounts.ontraport import ontraport_client

    port, state = unused_port(), tmp_path / "sandbox-state.json"
    settings.ONTRAPORT_API_URL = f"http://127.0.0.1:{port}/1/"
    settings.ONTRAPORT_APP_ID, settings.ONTRAPORT_API_KEY = "sandbox-app", "sandbox-key"
    ontraport_client.cache_clear()
    control = SandboxControl(f"http://127.0.0.1:{port}/_sandbox/")
    try:
        sandbox = start_sandbox(processes, port, state)
        # A contact made during the demo (not in the demo data), and its user on the site.
        ann = control.add_contact({"firstname": "Ann", "lastname": "Demo", "email": "ann@example.com"})
        assert webhook("add", ann["id"]).status_code == 202
        ann_user = User.objects.get(contact_id=int(ann["id"]))
        assert ann_user.email == "ann@example.com"

        sandbox.send_signal(signal.SIGTERM)  # make run stopped (Ctrl-C) and started again
        sandbox.wait(timeout=15)
        start_sandbox(processes, port, state)

        assert control.get_contact(int(ann["id"]))["email"] == "ann@example.com"  # still there
        bob = control.add_contact({"firstname": "Bob", "lastname": "New", "email": "bob@example.com"})
        assert int(bob["id"]) > int(ann["id"])  # never an id given before
        assert webhook("add", bob["id"]).status_code == 202
        ann_user.refresh_from_db()
        ann_now = (ann_user.email, ann_user.first_name, ann_user.contact_id)
        assert ann_now == ("ann@example.com", "Ann", int(ann["id"]))
        assert User.objects.get(contact_id=int(bob["id"])).email == "bob@example.com"
    finally:
        control.session.close()
        ontraport_client.cache_clear()


CHILD = """
import os, signal, sys, time
log = sys.argv[1]
with open(log, "a") as f:
    f.write(f"start {os.getpid()}\\n")
def on_term(signum, frame):
    with open(log, "a") as f:
        f.write("SIGTERM\\n")
    time.sleep(0.5)  # a clean stop takes a moment (the worker finishing its batch)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
if sys.argv[2] == "crash":
    sys.exit(3)
while True:
    time.sleep(0.1)
"""


def supervise(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / f"child-{mode}.log"
    child = [sys.executable, "-c", CHILD]
    command = [sys.executable, "-m", "fusion_site.dev_supervisor", "worker", "--", *child]
    supervisor = subprocess.Popen(
        [*command, str(log), mode], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    return supervisor, log


def test_the_supervisor_says_why_the_process_died_and_starts_it_again(tmp_path: Path):
    supervisor, log = supervise(tmp_path, "crash")
    try:
        wait_until(lambda: log.exists() and log.read_text().count("start") >= 2, timeout=20, what="a restart")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        output, _ = supervisor.communicate(timeout=20)
    assert "make run: the worker (pid " in output
    assert "exited with status 3 (see its output above)" in output
    assert "starting it again in 1 s. The other processes keep running." in output


def test_the_supervisor_passes_one_stop_signal_on_and_waits_for_the_clean_stop(tmp_path: Path):
    supervisor, log = supervise(tmp_path, "run")
    wait_until(lambda: log.exists() and "start" in log.read_text(), timeout=20, what="the child")
    child_pid = int(log.read_text().split()[1])
    try:
        supervisor.send_signal(signal.SIGTERM)  # honcho's, on Ctrl-C
        supervisor.send_signal(signal.SIGINT)  # and a second one: must not make the worker abandon its batch
        assert supervisor.wait(timeout=20) == 0  # the child's own status: it stopped cleanly
    finally:
        with suppress(ProcessLookupError):
            os.kill(child_pid, signal.SIGKILL)
    assert log.read_text().count("SIGTERM") == 1
    assert log.read_text().count("start") == 1  # not started again after a stop
    assert not alive(child_pid)


def test_make_run_warns_when_the_sandbox_state_is_gone_but_users_are_linked_beyond_the_demo(site_sandbox):
    from fusion_site.dev import _WARN_LINKED_BEYOND_DEMO

    def warning() -> str:
        env = site_env(site_sandbox)
        argv = [sys.executable, "manage.py", "shell", "-c", _WARN_LINKED_BEYOND_DEMO]
        return subprocess.run(argv, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True).stdout

    UserFactory(username="dana", email="dana@example.com", contact_id=1)  # a demo contact: seeded again
    assert "Warning" not in warning()
    UserFactory(username="zed", email="zed@example.com", contact_id=13)  # made during an earlier demo
    assert "1 user(s) here are linked to contacts made in an earlier demo" in warning()
