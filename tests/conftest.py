"""Fixtures for the Ontraport client and its sandbox. The site's fixtures (the sandbox behind the site,
webhooks, the admin, real processes) are in tests/django_fixtures.py; plain helpers are in tests/support/
(its __init__ lists them).

- ``sandbox_server``: one sandbox for the session, on a free port, demo data, no rate limit.
- ``sandbox``: that sandbox reset to its demo data for this test; a ``SandboxControl`` that also
  carries ``url``, ``app_id`` and ``api_key`` for building clients.
- ``fake_clock``: a clock that moves only when slept on; ``fake_clock.sleeps`` records the waits.
- ``limited_sandbox``: a sandbox of its own allowing 3 requests per 60 s, the window on ``fake_clock``.
- ``ontraport`` / ``make_ontraport``: clients pointed at the sandbox, pacing on the fake clock.
- ``http_recorder``: a tiny HTTP server that records what it receives (for webhook pings, headers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from ontraport_client import OntraportClient, Pacer, RetryPolicy
from ontraport_client.sandbox import SandboxControl, SandboxServer
from ontraport_client.testing import FakeClock


class Sandbox(SandboxControl):
    """The control API of a running sandbox, plus what a client needs to reach its Ontraport API."""

    def __init__(self, server: SandboxServer) -> None:
        super().__init__(server.control_url)
        self.server = server
        self.url = server.url
        self.app_id = server.app_id
        self.api_key = server.api_key


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(host="127.0.0.1", port=0, data="demo", rate_limit=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[Sandbox]:
    control = Sandbox(sandbox_server)
    control.reset(data="demo")
    yield control
    control.session.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited_sandbox(fake_clock: FakeClock) -> Iterator[SandboxServer]:
    """3 requests per 60 s, the window on the test's fake clock."""
    with SandboxServer(data="demo", rate_limit=3, window=60, clock=fake_clock) as server:
        yield server


@pytest.fixture
def make_ontraport(sandbox: Sandbox, fake_clock: FakeClock) -> Iterator[Callable[..., OntraportClient]]:
    """``make_ontraport(retry=RetryPolicy(max_attempts=1), timeout=0.2, api_key="wrong")``: a client
    for the sandbox whose waits go to ``fake_clock``; keyword arguments override the defaults."""
    clients: list[OntraportClient] = []

    def make(**overrides: Any) -> OntraportClient:
        options: dict[str, Any] = {
            "app_id": sandbox.app_id,
            "api_key": sandbox.api_key,
            "base_url": sandbox.url,
            "timeout": 5.0,
            "retry": RetryPolicy(),
            "pacer": Pacer(clock=fake_clock, sleep=fake_clock.sleep),
        } | overrides
        client = OntraportClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def ontraport(make_ontraport: Callable[..., OntraportClient]) -> OntraportClient:
    return make_ontraport()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"code": 0, "data": {}, "account_id": 1}'
    content_type: str = "application/json"


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    """Answers every request with ``status`` / ``body`` (settable) and keeps it in ``requests``."""
    recorder = HttpRecorder(url="")

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            url = urlsplit(self.path)
            recorder.requests.append(
                RecordedRequest(
                    method=self.command,
                    path=url.path,
                    query=dict(parse_qsl(url.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
            )
            self.send_response(recorder.status)
            self.send_header("Content-Type", recorder.content_type)
            self.send_header("Content-Length", str(len(recorder.body)))
            self.end_headers()
            self.wfile.write(recorder.body)

        do_GET = do_POST = do_PUT = do_DELETE = _record

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield recorder
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)
