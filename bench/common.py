"""Shared plumbing for the bench scripts: a fresh database, the environment, gunicorn, sandbox, load."""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The interpreter running the bench (a fresh clone's .venv, or any other with requirements-dev installed).
PYTHON = sys.executable
# gunicorn's script beside that interpreter (a venv's bin/): `python -m gunicorn` would work too, but a
# master re-executed for a zero-downtime restart (USR2) then runs gunicorn/__main__.py as a script, with
# gunicorn's own `http` package shadowing the standard library's.
_GUNICORN_SCRIPT = Path(PYTHON).with_name("gunicorn")
GUNICORN = [str(_GUNICORN_SCRIPT)] if _GUNICORN_SCRIPT.exists() else [PYTHON, "-m", "gunicorn"]
BENCH_DIR = ROOT / "var" / "bench"

# Every process a bench starts (spawn), stopped when the bench ends however it ends: normally, on an
# exception, on Ctrl-C or on SIGTERM.
_started: list[subprocess.Popen[bytes]] = []


def bench_dir() -> Path:
    """var/bench/, created if missing: where benches write logs and SQLite files."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    return BENCH_DIR


def spawn(args: list[str], **options: object) -> subprocess.Popen[bytes]:
    """subprocess.Popen, remembered so that stop_all() (run at exit) stops it."""
    process: subprocess.Popen[bytes] = subprocess.Popen(args, **options)  # type: ignore[call-overload]
    _started.append(process)
    return process


def workers_start(env: dict[str, str], count: int, *, log_name: str) -> list[subprocess.Popen[bytes]]:
    """`count` `manage.py fusion_worker` processes on `env`, each logging to var/bench/<log_name>-N.log."""
    workers = []
    for n in range(count):
        log = (bench_dir() / f"{log_name}-{n}.log").open("wb")
        workers.append(
            spawn(
                [PYTHON, "manage.py", "fusion_worker", "--interval", "0.2", "--no-startup-delay"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def stop_all() -> None:
    while _started:
        stop(_started.pop())


def _stop_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)  # runs the atexit handlers, stop_all among them


atexit.register(stop_all)
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
ACCESS_KEY = "bench-access-key-0123456789abcdef"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, object]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    return {"nproc": os.cpu_count(), "cpu": model, "loadavg": [round(x, 2) for x in os.getloadavg()]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The databases this run made (kind, name): dropped when it ends, and only these.
_own_databases: list[tuple[str, str]] = []


def fresh_database(kind: str, name: str, *, exact: bool = False) -> str:
    """A DATABASE_URL for an empty database of this run's own: a new SQLite file under var/bench/, or a new
    PostgreSQL database. `name` is a prefix, completed with the process id and a random suffix, so two runs
    (or a test suite beside a bench) never share, drop or disconnect each other's database; with `exact`
    it is the whole name, and it must not exist yet. Dropped when the bench ends, after its processes."""
    if not exact:
        name = f"{name}_{os.getpid()}_{secrets.token_hex(3)}"
    if not _own_databases:
        atexit.register(own_databases_drop)  # runs before stop_all (registered first): it stops them itself
    if kind == "sqlite":
        path = bench_dir() / f"{name}.sqlite3"
        if path.exists():
            raise SystemExit(f"{path} exists already: give another --database-name (it is not overwritten)")
        _own_databases.append((kind, str(path)))
        return f"sqlite:///{path}"
    if kind == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            try:
                conn.execute(f'CREATE DATABASE "{name}"')
            except psycopg.errors.DuplicateDatabase:
                raise SystemExit(
                    f"PostgreSQL database {name!r} exists already: give another --database-name "
                    "(a bench never drops a database it did not make)"
                ) from None
        _own_databases.append((kind, name))
        return f"{PG_URL}/{name}"
    raise ValueError(kind)


def own_databases_drop() -> None:
    """Drop the databases this run made, once every process it started has stopped."""
    stop_all()
    while _own_databases:
        kind, name = _own_databases.pop()
        if kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{name}{suffix}").unlink(missing_ok=True)
            continue
        import psycopg

        server = f"{PG_URL}/postgres"
        with contextlib.suppress(psycopg.Error), psycopg.connect(server, autocommit=True) as conn:
            # FORCE cuts only connections to this run's own database (a process that outlived stop_all).
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def site_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) fed from the environment, as a deployment would."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "FUSION_", "ONTRAPORT_", "DATABASE_", "TASK_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.benchsite.settings",
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdef",  # noqa: S106
        ALLOWED_HOSTS="127.0.0.1,localhost",
        FUSION_ACCESS_KEY=ACCESS_KEY,
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        TASK_BACKEND="database",
        LOG_LEVEL="WARNING",
        STATIC_MANIFEST="false",
        # gunicorn.conf.py (read from the working directory): no access log, no worker recycling mid-run.
        GUNICORN_ACCESS_LOG="",
        GUNICORN_MAX_REQUESTS="0",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP error answer: the server is up
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout}s") from error
            time.sleep(0.2)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """The site under gunicorn (sync workers) on a free port; yields its base URL."""
    port = free_port()
    process = spawn(
        [
            *GUNICORN,
            "fusion_site.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/bench/bare/")
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def calls_timeline(
    calls: list[dict[str, Any]], *, started: float, limit: int, window: float, endpoint: str = "GET /Contacts"
) -> dict[str, object]:
    """How the burst spent the rate limit, from the sandbox's call log (`SandboxControl.calls()`): the
    `endpoint` calls made since `started` (Unix time) per 10 s, and for the calls past the first `limit`
    (which may go only as earlier calls leave the rolling window) how long after its slot freed each went:
    the call `limit` places before it left the window `window` seconds after it was made."""
    times = sorted(c["at"] - started for c in calls if c["endpoint"] == endpoint and c["at"] >= started)
    if not times:
        return {"calls_per_10s": []}
    buckets = [0] * (int(times[-1] // 10) + 1)
    for at in times:
        buckets[int(at // 10)] += 1
    timeline: dict[str, object] = {"calls_per_10s": buckets, "last_call_s": round(times[-1], 1)}
    if len(times) > limit:
        late = [times[n] - times[n - limit] - window for n in range(limit, len(times))]
        timeline["past_first_window"] = len(late)
        timeline["slot_reuse_delay_s"] = {
            "median": round(statistics.median(late), 2),
            "max": round(max(late), 2),
        }
    return timeline


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed: `make bench-deps` (Debian's wrk)")
    return wrk


# An account's custom fields, for the bytes-per-contact figure: real accounts carry hundreds, the site
# maps a few. Contacts get CUSTOM_FIELDS values f2000...; MAPPED of them are mapped (profile values).
CUSTOM_FIELDS = 200
MAPPED = 5
FIRST_CUSTOM_FIELD = 2000


def custom_field_values(contact_id: int, count: int) -> dict[str, str]:
    """`count` custom field values for one contact, each about as long as a real one (a date, a code)."""
    return {f"f{FIRST_CUSTOM_FIELD + n}": f"value {n} of contact {contact_id}" for n in range(count)}


def fields_mapped(env: dict[str, str], count: int) -> list[str]:
    """Enable `count` mappings of the custom fields (profile values) in the site's database."""
    names = [f"f{FIRST_CUSTOM_FIELD + n}" for n in range(count)]
    script = (
        "from accounts.models import FieldMapping\n"
        f"for name in {names!r}:\n"
        "    FieldMapping.objects.update_or_create(target='profile', attribute='custom_' + name,"
        " defaults={'ontraport_field': name, 'enabled': True})\n"
    )
    subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return names


def page_bytes_per_contact(origin: str, path: str, params: dict[str, Any]) -> float:
    """Bytes per contact of one answer of the sandbox's Ontraport API (a whole page, for comparing what
    listFields saves): the body's length over its rows."""
    import json
    from urllib.parse import urlencode

    request = urllib.request.Request(
        f"{origin}/1/{path}?{urlencode(params)}",
        headers={"Api-Appid": "sandbox-app", "Api-Key": "sandbox-key"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    rows = json.loads(body)["data"]
    return len(body) / max(len(rows), 1)


def bytes_figures(
    *, origin: str, received: int, contacts: int, path: str, params: dict[str, Any], mapped: list[str]
) -> dict[str, float]:
    """Bytes received per contact during the run, and one page's bytes per contact with the client's
    listFields against whole records (the ratio the listFields change is judged by: ≤ 0.2)."""
    list_fields = ",".join(["id", "email", "firstname", "lastname", "contact_cat", *mapped])
    narrowed = page_bytes_per_contact(origin, path, {**params, "listFields": list_fields})
    whole = page_bytes_per_contact(origin, path, params)
    return {
        "bytes_received_per_contact": round(received / max(contacts, 1), 1),
        "page_bytes_per_contact_listfields": round(narrowed, 1),
        "page_bytes_per_contact_whole_records": round(whole, 1),
        "listfields_over_whole": round(narrowed / whole, 3),
    }
