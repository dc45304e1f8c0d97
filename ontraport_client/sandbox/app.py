"""The sandbox as one callable: a request in, a response out.

For an Ontraport API request, in this order: count it, check the credentials (401), check the rate
limit (429, not counted against the window), apply an injected fault, then answer. Requests under
``/_sandbox/`` go to the control API instead: no credentials, not counted, never rate limited.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from . import control_api
from .config import SandboxConfig
from .faults import Fault, FaultQueue
from .ontraport_api import OntraportApi
from .rate_limit import RollingWindowLimiter
from .rules import TagRules
from .seed import SeedSource, load_seed
from .state_file import state_save
from .stats import RequestStats
from .store import ContactStore
from .webhook_subscriptions import WebhookSubscriptions
from .wire import Request, Response, text_response

CONTROL_PREFIX = "/_sandbox"
AUTHENTICATION_FAILED = "Your App ID and API Key do not authenticate."


def api_path(path: str) -> str:
    """``/1/Contacts/`` → ``/Contacts``: the sandbox answers with or without Ontraport's ``/1`` prefix."""
    path = "/" + path.strip("/")
    if path == "/1" or path.startswith("/1/"):
        path = path[2:] or "/"
    return path


def rate_limit_message(limit: int, window: float) -> str:
    per = "minute" if window == 60 else f"{window:g} seconds"
    return f"You have exceeded your maximum rate limit of {limit} requests per {per}."


class SandboxApp:
    def __init__(self, config: SandboxConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.initial_config = config
        self.config = config
        self.store = ContactStore(config.seed)
        self.limiter = RollingWindowLimiter(config.rate_limit, config.window, clock)
        self.faults = FaultQueue()
        self.stats = RequestStats()
        self.webhooks = WebhookSubscriptions()
        self.store.tag_listeners.append(self.webhooks.tags_changed)
        self.rules = TagRules(self.store.field_meta)
        self.store.tag_listeners.append(self.rules.tags_changed)
        self.api = OntraportApi(self.store, config.account_id, self.webhooks)
        self.state_file: Path | None = None  # where the account is kept across restarts (.state_file)

    def reset(
        self, *, data: SeedSource | None = None, rate_limit: int | None = None, window: float | None = None
    ) -> None:
        """Back to the configuration the sandbox started with, overridden by what is given here;
        stats, faults and the rate-limit window are cleared."""
        config = self.initial_config
        if data is not None:
            config = replace(config, seed=load_seed(data))
        if rate_limit is not None:
            config = replace(config, rate_limit=rate_limit)
        if window is not None:
            config = replace(config, window=window)
        self.limiter.configure(config.rate_limit, config.window)  # validates before anything changes
        given = self.store.snapshot()["highest_contact_id"] if self.state_file is not None else 0
        self.store.load(config.seed)
        self.store.ids_given_up_to(given)  # a kept account never hands an id out twice, reset or not
        self.faults.clear()
        self.stats.clear()
        self.webhooks.clear()
        self.rules.clear()
        self.api.ignore_condition = False
        self.config = config

    def handle(self, request: Request) -> Response:
        response = self._answer(request)
        if self.state_file is not None and request.method != "GET":
            state_save(self.store, self.state_file)  # API and control API changes alike
        return response

    def _answer(self, request: Request) -> Response:
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            return control_api.handle(self, request, request.path[len(CONTROL_PREFIX) :])
        path = api_path(request.path)
        endpoint = f"{request.method} {path}"
        token = self.stats.received(endpoint)
        fault: Fault | None = None
        if not self._authenticated(request):
            window = self.limiter.peek()
            response = text_response(401, AUTHENTICATION_FAILED)
        else:
            window = self.limiter.acquire()
            if window is not None and not window.allowed:
                response = text_response(429, rate_limit_message(window.limit, self.config.window))
            else:
                fault = self.faults.take(endpoint)
                response = self._faulty(fault, request, path) if fault else self.api.handle(request, path)
        if window is not None:
            response.headers.update(window.headers())
        self.stats.answered(
            response.status,
            faulted=fault is not None,
            token=token,
            endpoint=endpoint,
            body_bytes=len(response.body),
        )
        return response

    def _authenticated(self, request: Request) -> bool:
        # Constant-time comparisons, as a real server would do; header names are case-insensitive.
        app_id = request.header("Api-Appid").encode()
        api_key = request.header("Api-Key").encode()
        return hmac.compare_digest(app_id, self.config.app_id.encode()) & hmac.compare_digest(
            api_key, self.config.api_key.encode()
        )

    def _faulty(self, fault: Fault, request: Request, path: str) -> Response:
        if fault.delay_ms and not (fault.html or fault.malformed or fault.status):
            # A delay only: the request is carried out at once and answered late, as when Ontraport did
            # the work but the answer missed the client's timeout (a POST that timed out may be made).
            response = self.api.handle(request, path)
            time.sleep(fault.delay_ms / 1000)  # real time on purpose: to make a client's timeout fire
            return response
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if fault.html:
            page = (
                fault.body
                or "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
            )
            return Response(fault.status or 200, page.encode(), "text/html; charset=utf-8")
        if fault.malformed:
            body = fault.body or '{"code":0,"data":[{"id":"1","firstname":"Tru'
            return Response(fault.status or 200, body.encode(), "application/json")
        if fault.status:
            return text_response(fault.status, fault.body or f"Injected fault: HTTP {fault.status}")
        return self.api.handle(request, path)
