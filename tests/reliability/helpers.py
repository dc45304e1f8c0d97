"""Helpers for the reliability tests: real processes (web, worker), a TCP proxy that can cut the database,
storing deliveries without processing them, and polling with a deadline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection

from tests.django_fixtures import ACCESS_KEY
from webhooks.models import Delivery

BASE_DIR = Path(__file__).resolve().parents[2]


def wait_until(
    condition: Callable[[], Any], *, timeout: float = 30.0, what: str | Callable[[], str] = "condition"
) -> Any:
    """Poll `condition` every 0.1 s until it is truthy; fail the test after `timeout` seconds (`what`, or
    what it returns, explains the wait in the failure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            explained = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {explained}")
        time.sleep(0.1)


def store(action: str, contact_id: int, **options: object) -> Delivery:
    """A delivery as the endpoint stores it (pending), without running the worker."""
    return Delivery.objects.create(
        action=action, contact_id=contact_id, options=options, method="GET", path="/"
    )


def database_url(*, host: str | None = None, port: int | None = None) -> str:
    """A DATABASE_URL for pytest-django's test database (optionally through another host/port)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    user = quote(settings.get("USER") or "postgres")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{host or settings.get('HOST') or '127.0.0.1'}:"
        f"{port or settings.get('PORT') or 5432}/{settings['NAME']}"
    )


def site_env(sandbox: Any, **overrides: object) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "TASK_BACKEND": "database",
        "FUSION_ACCESS_KEY": ACCESS_KEY,
        "ONTRAPORT_API_URL": sandbox.url,
        "ONTRAPORT_APP_ID": sandbox.app_id,
        "ONTRAPORT_API_KEY": sandbox.api_key,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WORKER_OPTIONS = ["--interval", "0.2", "--no-startup-delay", "--no-reload"]


class Processes:
    """Subprocesses started by one test; all killed (by their own pid) at teardown."""

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
        return self.start(
            name,
            [sys.executable, "manage.py", "db_worker", *WORKER_OPTIONS],
            env,
        )

    def fusion_worker(self, env: dict[str, str], name: str = "fusion_worker") -> subprocess.Popen[bytes]:
        """The site's own worker (db_worker's loop kept alive through outages, plus the heartbeat)."""
        return self.start(name, [sys.executable, "manage.py", "fusion_worker", *WORKER_OPTIONS], env)

    def web(self, env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen[bytes]:
        process = self.start(
            "web",
            [
                sys.executable, "-m", "gunicorn", "fusion_site.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60",
            ],
            env,
        )  # fmt: skip
        wait_until(lambda: _port_open(port) or process.poll() is not None, timeout=30, what="gunicorn")
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


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def enqueue_drain_in_database() -> None:
    """Queue one `process_deliveries` run for a db_worker (the tests' own backend runs tasks inline)."""
    from django_tasks_db.backend import DatabaseBackend

    from webhooks.tasks import process_deliveries

    DatabaseBackend("default", {}).enqueue(process_deliveries, (), {})


class TcpProxy:
    """A threaded TCP proxy to `target`; `cut()` drops every connection and refuses new ones until
    `restore()`. Lets a test take the database away from a site process without stopping the server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.down = threading.Event()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.1)
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.down.is_set():
                client.close()  # the database "is unreachable"
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self.lock:
                self.sockets.difference_update((source, sink))

    def cut(self) -> None:
        self.down.set()
        with self.lock:
            for sock in list(self.sockets):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.closing.set()
        self.cut()
        self.listener.close()
        self.thread.join(timeout=5)


@contextmanager
def tcp_proxy(target: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
