"""Sending requests: authentication headers, timeout, pacing, retries, and error mapping.

The client above this knows Ontraport's calls; this module only knows how to get one answer safely.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

import requests

from .envelope import unwrap
from .errors import OntraportError, RateLimitedError, TransportError, excerpt
from .pacing import Pacer
from .retry import RetryPolicy
from .version import __version__

logger = logging.getLogger("ontraport_client")

USER_AGENT = f"fusion-site/{__version__} (+python-requests)"


class Transport:
    def __init__(
        self,
        *,
        app_id: str,
        api_key: str,
        base_url: str,
        timeout: float,
        retry: RetryPolicy,
        pacer: Pacer,
        session: requests.Session,
        on_answer: Callable[[str, int | None], None] | None = None,
    ) -> None:
        # A trailing slash makes urljoin keep the "/1/" of the base URL.
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.retry = retry
        self.pacer = pacer
        self.session = session
        # Sent with each request rather than set on the session: a session passed in by the caller
        # may be shared with other code that must not receive the key.
        self._headers = {
            "Api-Appid": app_id,
            "Api-Key": api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        self._api_key = api_key
        self._calls_lock = threading.Lock()
        self.calls_made = 0
        # Told of every request sent: ("GET Contacts", HTTP status, or None when no answer came). For
        # metrics; it must not raise.
        self.on_answer = on_answer

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send the call, retrying per the policy; return Ontraport's ``data`` or raise the last error.

        ``form`` sends a form-encoded body instead of JSON. A call that is not ``idempotent`` (a POST that
        makes something) is sent again only after a 429, which Ontraport answers before doing anything:
        after a timeout or a 5xx it may have been made, so the caller looks before sending it again."""
        what = f"{method} {path}"  # never the query string: it may hold e-mail addresses
        attempt = 0
        while True:
            attempt += 1
            self.pacer.before_request()
            sent_at = self.pacer.clock()
            try:
                return self._send_once(
                    method, path, params=params, json=json, form=form, what=what, sent_at=sent_at
                )
            except OntraportError as error:
                # Jitter only spreads retries out; it has nothing to do with security.
                delay = self.retry.delay_before_retry(attempt, error, random.random())  # noqa: S311
                if delay is None or (not idempotent and not isinstance(error, RateLimitedError)):
                    raise
                logger.warning(
                    "%s failed (%s, attempt %d of %d); retrying in %.2fs",
                    what,
                    type(error).__name__,
                    attempt,
                    self.retry.max_attempts,
                    delay,
                )
                self.pacer.sleep(delay)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        json: Any,
        form: Mapping[str, str] | None,
        what: str,
        sent_at: float,
    ) -> Any:
        with self._calls_lock:
            self.calls_made += 1
        try:
            response = self.session.request(
                method,
                urljoin(self.base_url, path),
                params=params,
                json=json,
                data=form,
                headers=self._headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            self._answered(what, None)
            raise TransportError(f"{what}: no answer within {self.timeout:g}s") from None
        except requests.RequestException as error:
            self._answered(what, None)
            detail = excerpt(self._redact(str(error)), 150)
            raise TransportError(f"{what}: {type(error).__name__}: {detail}") from None
        self.pacer.observe(response.headers, sent_at=sent_at)
        self._answered(what, response.status_code)
        try:
            return unwrap(response, what)
        except OntraportError as error:
            # Belt and braces: a misbehaving proxy could echo request headers into its body.
            error.body_excerpt = self._redact(error.body_excerpt)
            error.args = tuple(self._redact(str(arg)) for arg in error.args)
            raise

    def _answered(self, what: str, status: int | None) -> None:
        if self.on_answer is not None:
            try:
                self.on_answer(what, status)
            except Exception:
                logger.exception("on_answer hook failed")

    def _redact(self, text: str) -> str:
        """Remove the API key from text that will end up in an exception or a log."""
        return text.replace(self._api_key, "[api key]") if self._api_key else text
