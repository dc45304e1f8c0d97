"""A small client for the sandbox's control API, for tests, benchmarks and scripts."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests

Record = dict[str, str | None]


class SandboxControlError(RuntimeError):
    pass


class SandboxControl:
    """``SandboxControl("http://127.0.0.1:8765")`` (the ``/_sandbox/`` suffix is optional)."""

    def __init__(
        self, control_url: str, *, timeout: float = 30.0, session: requests.Session | None = None
    ) -> None:
        base = control_url.rstrip("/")
        if not base.endswith("/_sandbox"):
            base += "/_sandbox"
        self.control_url = base + "/"
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.control_url!r})"

    def _call(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        response = self.session.request(method, self.control_url + path, json=body, timeout=self.timeout)
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SandboxControlError(
                f"{method} /_sandbox/{path}: HTTP {response.status_code}: {response.text[:200]}"
            )
        return response.json()

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "")
        return result

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Poll until the sandbox answers (it may still be starting in another process)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def reset(
        self,
        *,
        data: str | Mapping[str, Any] | None = None,
        rate_limit: int | None = None,
        window: float | None = None,
    ) -> dict[str, Any]:
        """Back to the start configuration (seed data, limits), stats and faults cleared. ``data`` is
        "demo", "empty" or seed data as a dict; ``rate_limit`` / ``window`` override the limits."""
        options: dict[str, Any] = {}
        if data is not None:
            options["data"] = data
        if rate_limit is not None:
            options["rate_limit"] = rate_limit
        if window is not None:
            options["window"] = window
        result: dict[str, Any] = self._call("POST", "reset", options)
        return result

    def stats(self) -> dict[str, Any]:
        """``{"requests": N, "by_endpoint": {"GET /Contacts": N}, "by_status": {...}, "rate_limited": N}``"""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def calls(self) -> list[dict[str, Any]]:
        """The newest API requests, oldest first: ``[{"at": unix_time, "endpoint": "GET /Contacts"}]``."""
        result: list[dict[str, Any]] = self._call("GET", "calls")
        return result

    def add_contact(self, fields: Mapping[str, Any]) -> Record:
        """Create or replace a contact (id assigned when absent); returns it as stored."""
        result: Record = self._call("POST", "contacts", dict(fields))
        return result

    def add_contacts(self, contacts: Sequence[Mapping[str, Any]]) -> list[int]:
        """Bulk version of :meth:`add_contact`; returns the ids."""
        result: list[int] = self._call("POST", "contacts", [dict(fields) for fields in contacts])["ids"]
        return result

    def get_contact(self, contact_id: int) -> Record | None:
        """The stored contact, every field raw; ``None`` when there is none."""
        result: Record | None = self._call("GET", f"contacts/{int(contact_id)}", missing_ok=True)
        return result

    def delete_contact(self, contact_id: int) -> bool:
        """True when the contact existed."""
        return self._call("DELETE", f"contacts/{int(contact_id)}", missing_ok=True) is not None

    def merge_contacts(self, *, into: int, merged: int) -> Record:
        """Merge contact `merged` into contact `into` as Ontraport's duplicate merge does (no webhook);
        returns the survivor."""
        result: Record = self._call("POST", "contacts/merge", {"into": int(into), "from": int(merged)})
        return result

    def add_tag(self, tag_name: str, tag_id: int | None = None, object_type_id: int = 0) -> dict[str, str]:
        """A tag; ``object_type_id`` other than 0 makes another object type's tag (a deal's ...)."""
        body: dict[str, Any] = {"tag_name": tag_name}
        if tag_id is not None:
            body["tag_id"] = tag_id
        if object_type_id:
            body["object_type_id"] = object_type_id
        result: dict[str, str] = self._call("POST", "tags", body)
        return result

    def fields(self) -> dict[str, dict[str, Any]]:
        """Contact field meta by field key (``{"f1534": {"alias": "Username", ...}}``)."""
        result: dict[str, dict[str, Any]] = self._call("GET", "fields")
        return result

    def fault(
        self,
        *,
        status: int | None = None,
        count: int = 1,
        delay_ms: int = 0,
        malformed: bool = False,
        html: bool = False,
        body: str | None = None,
        endpoint: str | None = None,
    ) -> list[dict[str, Any]]:
        """Make the next ``count`` API requests (to ``endpoint``, e.g. "GET /Contacts", or any) fail:
        ``status`` with a plain-text body, ``delay_ms`` late, ``malformed`` JSON or an ``html`` page."""
        spec: dict[str, Any] = {"count": count}
        for key, value in {
            "status": status,
            "delay_ms": delay_ms,
            "body": body,
            "endpoint": endpoint,
        }.items():
            if value:
                spec[key] = value
        if malformed:
            spec["malformed"] = True
        if html:
            spec["html"] = True
        pending: list[dict[str, Any]] = self._call("POST", "faults", spec)["pending"]
        return pending

    def pending_faults(self) -> list[dict[str, Any]]:
        pending: list[dict[str, Any]] = self._call("GET", "faults")["pending"]
        return pending

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def webhooks(self) -> list[dict[str, str]]:
        """The webhook subscriptions with the code each URL last answered (events in flight waited for)."""
        result: list[dict[str, str]] = self._call("GET", "webhooks")
        return result

    def add_foreign_webhooks(self, subscriptions: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
        """Other apps' subscriptions on the account (``{"event": "sub_tag(3)", "url": ...}``): listed by
        ``GET /Webhooks`` and removable, never POSTed to."""
        result: list[dict[str, str]] = self._call("POST", "webhooks", list(subscriptions))
        return result

    def add_rule(
        self, *, on: str, tag_id: int, url: str, method: str = "post-form", data: str = ""
    ) -> dict[str, Any]:
        """An Ontraport rule: when a contact gains (``on="sub_tag"``) or loses (``"unsub_tag"``) the tag,
        ping ``url`` (merge fields substituted, as "Send to a Webhook" does). Reset clears rules."""
        spec = {"on": on, "tag_id": tag_id, "url": url, "method": method, "data": data}
        result: dict[str, Any] = self._call("POST", "rules", spec)
        return result

    def rules(self) -> list[dict[str, Any]]:
        """The rules, each with ``sent`` (pings so far) and ``last_code`` (pings in flight waited for)."""
        result: list[dict[str, Any]] = self._call("GET", "rules")
        return result

    def behave(self, *, ignore_condition: bool) -> dict[str, Any]:
        """Make list calls ignore ``condition`` (as an account might), or honour it again; reset clears it."""
        result: dict[str, Any] = self._call("POST", "behaviour", {"ignore_condition": ignore_condition})
        return result
