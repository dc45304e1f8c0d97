"""The site's real processes (gunicorn, runserver, db_worker, fusion_worker, honcho…) started by a test on
the test database and the sandbox, and killed at its end (the `processes` fixture, tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.support.databases import database_url
from tests.support.paths import BASE_DIR
from tests.support.waiting import wait_until
from tests.support.webhooks import ACCESS_KEY

WORKER_OPTIONS = ["--interval", "0.2", "--no-startup-delay", "--no-reload"]


def site_env(sandbox: Any, **overrides: object) -> dict[str, str]:
    """The environment of a site process: the test settings on the test database, tasks in the database
    queue, Ontraport at `sandbox` (None: the test settings' address, where nothing answers); `overrides`
    (any value, made a string) over it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "TASK_BACKEND": "database",
        "FUSION_ACCESS_KEY": ACCESS_KEY,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    if sandbox is not None:
        env |= {
            "ONTRAPORT_API_URL": sandbox.url,
            "ONTRAPORT_APP_ID": sandbox.app_id,
            "ONTRAPORT_API_KEY": sandbox.api_key,
        }
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Processes:
    """Subprocesses started by one test, each in a session of its own, its output in `log_dir`; all killed
    (by their own process group) by `stop_all`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(process)
        return process

    def worker(self, env: dict[str, str], name: str = "worker") -> subprocess.Popen[bytes]:
        """django-tasks-db's own `db_worker`."""
        return self.start(name, [sys.executable, "manage.py", "db_worker", *WORKER_OPTIONS], env)

    def fusion_worker(self, env: dict[str, str], name: str = "fusion_worker") -> subprocess.Popen[bytes]:
        """The site's own worker (db_worker's loop kept alive through outages, plus the heartbeat)."""
        return self.start(name, [sys.executable, "manage.py", "fusion_worker", *WORKER_OPTIONS], env)

    def web(self, env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen[bytes]:
        """gunicorn on `port`, once it accepts connections."""
        process = self.start(
            "web",
            [
                sys.executable, "-m", "gunicorn", "fusion_site.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60",
            ],
            env,
        )  # fmt: skip
        wait_until(lambda: port_open(port) or process.poll() is not None, timeout=30, what="gunicorn")
        assert process.poll() is None, self.logs()
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log")))

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def enqueue_drain_in_database() -> None:
    """Queue one `process_deliveries` run for a real worker (the tests' own backend runs tasks inline)."""
    from django_tasks_db.backend import DatabaseBackend

    from webhooks.tasks import process_deliveries

    DatabaseBackend("default", {}).enqueue(process_deliveries, (), {})
