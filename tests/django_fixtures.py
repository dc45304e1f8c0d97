"""Fixtures for the Django apps, loaded as a plugin (`-p tests.django_fixtures` in pyproject.toml).

Every test that touches the site talks to the local Ontraport sandbox over HTTP: `site_sandbox` points the
site's client at it and resets its data (the demo contacts) before each test.

- ``site_sandbox``: the sandbox, with the site's Ontraport clients pointed at it.
- ``access_key`` / ``webhook`` / ``post_event``: the site's key, and webhooks and tag-subscription events
  sent through Django's test client.
- ``admin``: a test client logged in as a superuser.
- ``database_tasks``: tasks go to the database queue instead of running inline.
- ``processes``: the site's real processes (tests.support.processes), killed at the test's end.

Plain helpers (no fixtures) are in tests/support/; its __init__ lists them.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.processes import Processes
from tests.support.webhooks import ACCESS_KEY


@pytest.fixture
def site_sandbox(sandbox: Any, settings: Any) -> Iterator[Any]:
    """The sandbox (reset to its demo data), with the site's Ontraport clients pointed at it (the bulk
    client too: the outbox is sent on it)."""
    from accounts.ontraport import ontraport_bulk_client, ontraport_client

    settings.ONTRAPORT_API_URL = sandbox.url
    settings.ONTRAPORT_APP_ID = sandbox.app_id
    settings.ONTRAPORT_API_KEY = sandbox.api_key
    ontraport_client.cache_clear()
    ontraport_bulk_client.cache_clear()
    yield sandbox
    ontraport_client.cache_clear()
    ontraport_bulk_client.cache_clear()


@pytest.fixture
def access_key(settings: Any) -> str:
    settings.FUSION_ACCESS_KEY = ACCESS_KEY
    settings.FUSION_PREVIOUS_ACCESS_KEYS = []
    return ACCESS_KEY


@pytest.fixture
def webhook(client: Any, access_key: str) -> Callable[..., Any]:
    """Send a webhook the way Ontraport's "Ping a URL" does: `webhook("add", 12, role="customer")`.

    `method` is "get" (query string), "post-form" (form body) or "post-json" (JSON body); `path` defaults to
    the site root, as in the seed's URLs. Returns Django's test response.
    """

    def send(
        action: str, contact_id: object = None, *, method: str = "get", path: str = "/", **extra: object
    ) -> Any:
        params: dict[str, object] = {"wpf_action": action, "access_key": access_key}
        if contact_id is not None:
            params["contact_id"] = contact_id
        params.update(extra)
        if method == "get":
            return client.get(f"{path}?{urlencode(params)}")
        if method == "post-form":
            return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded")
        if method == "post-json":
            return client.post(path, data=params, content_type="application/json")
        raise ValueError(method)

    return send


@pytest.fixture
def post_event(client: Any, access_key: str) -> Callable[..., Any]:
    """Post an event the way Ontraport's tag subscriptions do: `post_event({"event[type]": "sub_tag", ...})`,
    a form (or, with `as_json=True`, a JSON body) to the events endpoint with the key in the query string
    (`key` for another one). Returns Django's test response."""

    def post(fields: Any, *, as_json: bool = False, key: str | None = None) -> Any:
        url = f"/webhooks/ontraport/events/?{urlencode({'access_key': access_key if key is None else key})}"
        if as_json:
            return client.post(url, data=json.dumps(fields), content_type="application/json")
        return client.post(url, data=urlencode(fields), content_type="application/x-www-form-urlencoded")

    return post


@pytest.fixture(scope="session", autouse=True)
def _stray_connections_closed_at_the_end(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Servers and threads some tests start may still hold a connection to the test database when the run
    ends; PostgreSQL then refuses to drop it and a stale database is left behind. Close them first."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def admin() -> Any:
    """A test client logged in as a superuser (without hashing a password: tests.support.admin_clients)."""
    from tests.support.admin_clients import superuser_client

    return superuser_client()


@pytest.fixture
def database_tasks(settings: Any, monkeypatch: Any) -> None:
    """Tasks go to the database queue (as in production) instead of running inline; the endpoint's wake-up
    throttle starts afresh, so this test's first webhook enqueues its wake-up."""
    from webhooks import wakeup

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(wakeup, "_last_wake", 0.0)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Subprocesses started by one test (their output in its tmp_path), killed (by their own process group)
    at teardown."""
    started = Processes(tmp_path)
    yield started
    started.stop_all()
