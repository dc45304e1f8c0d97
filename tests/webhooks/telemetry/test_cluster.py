"""bench/cluster.py at a small size: 2 web nodes, 3 workers on PostgreSQL sharing Redis, a worker killed
(SIGKILL) and a web node restarted mid-burst, and nothing lost, wrong or duplicated. Its figures of speed
and of calls are the bench's to print (docs/benchmarks.md); this test holds what must never fail."""

import json
import os
import signal
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from tests.support.databases import postgres_server_url
from tests.support.paths import BASE_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.cluster,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="several workers need PostgreSQL"),
]


def test_two_nodes_three_workers_a_kill_and_a_restart_lose_nothing():
    server = postgres_server_url()
    name = f"test_fusion_cluster_{os.getpid()}"
    command = [sys.executable, "bench/cluster.py", "--contacts", "300", "--webhooks", "600", "--window", "6",
               "--lease", "10", "--timeout", "150", "--probe-rows", "2000", "--json",
               "--database-name", name]  # fmt: skip
    # Its own session, so a bench that hangs is stopped with every process it started (a timeout that
    # killed only the bench left its web nodes, workers, sandbox and Redis running).
    bench = subprocess.Popen(
        command, cwd=BASE_DIR, env={**os.environ, "BENCH_PG_URL": server}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = bench.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(bench.pid, signal.SIGKILL)
        stdout, stderr = bench.communicate()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    result = subprocess.CompletedProcess(command, bench.returncode, stdout, stderr)
    assert result.returncode == 0, result.stderr[-8000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["accepted"] == 600, report["answers"]
    assert min(report["accepted_per_node"]) > 0  # the load went to both nodes
    assert "worker_killed_at_s" in report and "web_node_restarted_at_s" in report
    assert report["stored"] == report["accepted"]
    assert report["applied_once"] == report["accepted"]
    assert report["lost"] == 0
    assert report["wrong"] == 0
    assert report["duplicates"] == 0
    assert report["users"] == 300
    assert report["rate_limited"] <= 3
    # Then 2,000 old deliveries were added and /metrics and /readyz answered with them stored.
    assert report["deliveries_stored"] == 600 + 2000
    assert report["metrics_ms"]["median_ms"] > 0
    assert set(report["readyz_ms"]["statuses"]) <= {200, 503}
