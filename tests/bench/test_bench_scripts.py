"""The bench scripts as someone runs them: `--help` prints the usage and runs nothing, and a bench's
PostgreSQL database is its own (a unique name, dropped at its end) so it never drops or disconnects a
database someone else is using."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.support.databases import postgres_server_url
from tests.support.paths import BASE_DIR

SCRIPTS = sorted(
    path.name for path in (BASE_DIR / "bench").glob("*.py") if path.name not in {"__init__.py", "common.py"}
)


def test_every_bench_script_is_listed():
    assert {"hasher.py", "ingest.py", "burst.py", "cluster.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_prints_the_usage_and_runs_nothing(script):
    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script}"), result.stdout[:500]
    assert '"default"' not in result.stdout  # not a bench's figures (hasher.py used to print them)


PROBE = """
import sys
from bench.common import fresh_database
first = fresh_database("postgres", "bench_fusion_probe")
second = fresh_database("postgres", "bench_fusion_probe")
print(first.rsplit("/", 1)[1], second.rsplit("/", 1)[1])
"""


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL databases")
def test_a_bench_makes_databases_of_its_own_and_drops_only_those():
    import psycopg

    server = postgres_server_url()
    bystander = f"bench_fusion_probe_bystander_{os.getpid()}"  # as a fixed-name bench database used to be
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{bystander}"')
        try:
            with psycopg.connect(f"{server}/{bystander}", autocommit=True) as someone_else:
                env = {**os.environ, "BENCH_PG_URL": server}
                run = subprocess.run(
                    [sys.executable, "-c", PROBE],
                    cwd=BASE_DIR,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                first, second = run.stdout.split()
                assert first != second and first.startswith("bench_fusion_probe_")
                names = {row[0] for row in admin.execute("SELECT datname FROM pg_database")}
                assert first not in names and second not in names  # dropped when the bench ended
                assert bystander in names
                assert someone_else.execute("SELECT 1").fetchone() == (1,)  # never disconnected
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{bystander}" WITH (FORCE)')


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL databases")
def test_a_bench_refuses_an_existing_database_name_instead_of_dropping_it():
    import psycopg

    server = postgres_server_url()
    existing = f"bench_fusion_probe_taken_{os.getpid()}"
    probe = f'from bench.common import fresh_database\nfresh_database("postgres", "{existing}", exact=True)\n'
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{existing}"')
        try:
            admin_env = {**os.environ, "BENCH_PG_URL": server}
            run = subprocess.run(
                [sys.executable, "-c", probe], cwd=BASE_DIR, env=admin_env, capture_output=True, text=True
            )
            assert run.returncode != 0
            assert "exists already" in run.stderr
            names = {row[0] for row in admin.execute("SELECT datname FROM pg_database")}
            assert existing in names
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{existing}" WITH (FORCE)')


@pytest.mark.parametrize(
    ("command", "figure"),
    [
        (
            ["bench/tag_guards.py", "--database", "sqlite", "--checks", "50", "--json"],
            '"first_check_queries": 1',
        ),
        (["bench/usernames.py", "--names", "200", "--json"], "{"),
        (["bench/hasher.py", "--default", "1", "--generated", "5"], '"generated"'),
    ],
)
def test_the_quick_benches_run_to_their_figures_on_this_tree(command, figure):
    """Run as the docs give them (smaller): a bench that stops half-way is a command that does not work."""
    result = subprocess.run(
        [sys.executable, *command], cwd=BASE_DIR, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() and figure in result.stdout
