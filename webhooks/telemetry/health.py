"""/healthz and /readyz: JSON, 200 or 503, no key needed, nothing secret, no table scan.

- /healthz: the process answers (no database touched). For a load balancer: a web node that answers
  can store webhooks, so it must stay in rotation even when the workers are down.
- /readyz: the whole site works: the database answers, every migration is applied, a worker beat within
  FUSION_WORKER_STALE_SECONDS, and every check the apps above registered passes (webhooks.reporting: no
  ready delivery has waited longer than FUSION_READY_MAX_WAIT_SECONDS). For monitoring and deploy scripts
  (not for taking web nodes out of rotation: see docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from webhooks.telemetry.selectors import workers_health

# A check answers {"ok": bool, ...details}; it may raise DatabaseError (then the answer says a query failed).
ReadinessCheck = Callable[[], dict[str, Any]]
_checks: dict[str, ReadinessCheck] = {}

# Migrations are applied before new code starts and never un-applied under it, so once a process has
# seen them all applied it need not load the migration graph (tens of ms) on every probe again.
_migrations_seen_applied = False


def readiness_check_register(name: str, check: ReadinessCheck) -> None:
    """Make `check` part of /readyz under `name` (call it from AppConfig.ready)."""
    _checks[name] = check


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {}
    try:
        database_ping()
        checks["database"] = {"ok": True}
    except DatabaseError as error:
        checks["database"] = {"ok": False, "detail": f"database unreachable ({type(error).__name__})"}
        return _answer(checks)
    try:
        checks["migrations"] = _migrations_check()
        health = workers_health()
        checks["workers"] = {
            "ok": health.ok,
            "alive": health.alive,
            "last_seen": health.last_seen_at.isoformat() if health.last_seen_at else None,
            **({"detail": health.problem} if not health.ok else {}),
        }
        for name, check in _checks.items():
            checks[name] = check()
    except DatabaseError as error:
        checks["database"] = {"ok": False, "detail": f"query failed ({type(error).__name__})"}
    return _answer(checks)


def database_ping() -> None:
    """One round trip; raises the database's error when it cannot serve. A query rather than only
    `ensure_connection`: a kept connection that the server has cut is only found out by using it (the
    health check of CONN_HEALTH_CHECKS runs before a query, and reconnects or fails there)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def _migrations_check() -> dict[str, Any]:
    global _migrations_seen_applied
    if not _migrations_seen_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            return {"ok": False, "detail": f"{len(plan)} migration(s) not applied: run `manage.py migrate`"}
        _migrations_seen_applied = True
    return {"ok": True}


def _answer(checks: dict[str, dict[str, Any]]) -> JsonResponse:
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
