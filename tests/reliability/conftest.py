"""Fixtures for the reliability tests: the figures the tests tally, a live server, a fresh throttle.

Every test that sends traffic records what it sent and what became of it (`figures.record(...)`); at the
end of the session the totals are written to var/reliability-figures.json (quoted in docs/reliability.md).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.support.paths import BASE_DIR

FIGURES_FILE = BASE_DIR / "var" / "reliability-figures.json"


class Figures:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def record(self, test: str, *, sent: int, answers: Counter[int] | None = None) -> dict[str, Any]:
        """Tally the Delivery table now: accepted, applied, failed by reason, still pending, lost."""
        from webhooks.models import Delivery

        rows = list(Delivery.objects.values_list("status", "reason"))
        statuses = Counter(status for status, _ in rows)
        accepted = len(rows) - statuses[Delivery.Status.REJECTED]
        failed = Counter(reason for status, reason in rows if status == Delivery.Status.FAILED)
        row = {
            "sent": sent,
            "answers": dict(sorted((answers or Counter()).items())),
            "stored": len(rows),
            "accepted": accepted,
            "rejected_400": statuses[Delivery.Status.REJECTED],
            "applied": statuses[Delivery.Status.DONE],
            "failed": dict(failed),
            "unfinished": statuses[Delivery.Status.PENDING] + statuses[Delivery.Status.PROCESSING],
        }
        # Lost: accepted (answered 2xx, stored) but neither applied nor failed with a reason.
        row["lost"] = row["accepted"] - row["applied"] - sum(failed.values()) - row["unfinished"]
        self.rows[test] = row
        return row


_FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return _FIGURES


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _FIGURES.rows:
        return
    from django.db import connection

    totals: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for row in _FIGURES.rows.values():
        for key in ("sent", "stored", "accepted", "rejected_400", "applied", "unfinished", "lost"):
            totals[key] += row[key]
        failed.update(row["failed"])
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    FIGURES_FILE.write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "totals": {**totals, "failed": dict(failed)},
                "tests": _FIGURES.rows,
            },
            indent=2,
            sort_keys=True,
        )
    )


@pytest.fixture
def live_site(django_db_setup: None, live_server: Any) -> Any:
    """pytest-django's live server, started only after the test database exists (the session-scoped
    live_server would otherwise open its threads' connections on the unprefixed database)."""
    return live_server


@pytest.fixture(autouse=True)
def _fresh_throttle(request: pytest.FixtureRequest) -> None:
    """Wrong keys sent by earlier tests (same address) must not get this test's requests throttled."""
    from django.core.cache import cache

    cache.clear()
    if request.node.get_closest_marker("django_db") is not None:
        from webhooks.services.throttle import wrong_keys_forget

        wrong_keys_forget()
