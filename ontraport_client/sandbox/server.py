"""Serving the sandbox over HTTP: ``http.server.ThreadingHTTPServer``, one thread per connection.

Use it from Python (tests, benchmarks)::

    with SandboxServer(data="demo") as server:       # port 0: a free port
        client = OntraportClient(server.app_id, server.api_key, server.url)

or from the command line: ``python -m ontraport_client.sandbox``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..version import __version__
from .app import SandboxApp
from .config import DEFAULT_ACCOUNT_ID, DEFAULT_API_KEY, DEFAULT_APP_ID, SandboxConfig
from .control import SandboxControl
from .seed import SeedSource, load_seed
from .state_file import state_load, state_save
from .wire import Request, Response, text_response

MAX_BODY_BYTES = 64 * 1024 * 1024  # bulk seeding of tens of thousands of contacts fits


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a kept-alive idle connection must not keep the process alive
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops bursts of connections (20 threads, a benchmark):
    # the kernel then makes clients retry their SYN a full second later.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Drop kept-alive connections, so a stopped sandbox stops answering at once."""
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) before a delayed answer is normal here, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as they do with Ontraport
    # Headers and body go out in two writes; with Nagle's algorithm the second one waits for the
    # client's delayed ACK, adding ~40 ms to every answer.
    disable_nagle_algorithm = True
    server_version = f"OntraportSandbox/{__version__}"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(text_response(413, "Request body too large"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:  # a bug in the sandbox: answer 500 and keep serving
            traceback.print_exc()
            response = text_response(500, "Sandbox error (see its log)")
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            super().log_message(format, *args)


class SandboxServer:
    """An Ontraport look-alike on ``host:port`` (port 0 picks a free one), serving in a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data: SeedSource = "demo",
        app_id: str = DEFAULT_APP_ID,
        api_key: str = DEFAULT_API_KEY,
        rate_limit: int = 0,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        account_id: int = DEFAULT_ACCOUNT_ID,
        log_requests: bool = False,
        state_file: str | Path | None = None,
    ) -> None:
        """``data``: "demo", "empty", a JSON file path or the data as a dict. ``rate_limit``: requests
        per rolling ``window`` seconds, 0 for unlimited. ``clock`` drives the rate-limit window (tests
        pass a fake one, shared with the client's pacer, to move time instead of waiting). ``state_file``:
        keep the account in that file across restarts (loaded instead of ``data`` when it exists)."""
        self.host = host
        self.port = port
        self.app_id = app_id
        self.api_key = api_key
        state = Path(state_file) if state_file is not None else None
        seed, highest_contact_id = state_load(state, fallback=data) if state else (load_seed(data), 0)
        config = SandboxConfig(
            seed=seed,
            rate_limit=rate_limit,
            window=window,
            app_id=app_id,
            api_key=api_key,
            account_id=account_id,
        )
        self.app = SandboxApp(config, clock=clock)
        if state is not None:
            self.app.store.ids_given_up_to(highest_contact_id)
            self.app.state_file = state
            state_save(self.app.store, state)
        self._log_requests = log_requests
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def bind(self) -> None:
        """Open the listening socket (so ``url`` is known) without serving yet."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), self.app, self._log_requests)
            self.port = self._httpd.server_address[1]

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns at once."""
        self.bind()
        assert self._httpd is not None  # noqa: S101 - bind() just set it; this informs the type checker
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ontraport-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` (or KeyboardInterrupt)."""
        self.bind()
        assert self._httpd is not None  # noqa: S101 - see start()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        if self._httpd is None:
            return
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self._httpd is not None:
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # Addresses

    @property
    def origin(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        # A server listening on every interface is still reached locally through the loopback.
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 - compared, not bound
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL, as ``OntraportClient(base_url=...)`` wants it: ``http://host:port/1/``."""
        return f"{self.origin}/1/"

    @property
    def control_url(self) -> str:
        return f"{self.origin}/_sandbox/"

    def control(self) -> SandboxControl:
        return SandboxControl(self.control_url)
