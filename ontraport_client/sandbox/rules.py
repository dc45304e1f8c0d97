"""Ontraport rules that ping a URL when a contact's tag changes, as the sandbox runs them.

An Ontraport rule "When contact is added to tag X → Send to a Webhook (Ping a URL)" sends the webhook a
site receives from a campaign: a URL (and an optional body) with merge fields, POSTed form-encoded by
default (see ping.py, which builds it the same way). Made with the control API::

    POST /_sandbox/rules   {"on": "sub_tag"|"unsub_tag", "tag_id": 4, "url": "...&contact_id=[Contact ID]",
                            "method": "get"|"post-form"|"post-json", "data": "email=[Email]"}
    GET  /_sandbox/rules   the rules, each with how many pings it sent and the code last answered

A rule fires on every change of the tag, whoever made it (an API call, the control API), which is what
makes the site's own tag changes come back to it as webhooks: the echo the site must absorb. Each ping is
sent from a thread of its own, so the call that changed the tag answers at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import requests

from .ping import METHODS, build_webhook
from .store import Record

EVENTS = ("sub_tag", "unsub_tag")
PING_TIMEOUT = 10.0


class RuleError(ValueError):
    pass


@dataclass
class Rule:
    id: int
    on: str
    tag_id: int
    url: str
    method: str = "post-form"
    data: str = ""
    sent: int = 0
    last_code: int = 0  # 0 until a ping was sent, or when the URL never answered


class TagRules:
    def __init__(self, field_meta: Callable[[], Mapping[str, Mapping[str, Any]]]) -> None:
        self._field_meta = field_meta
        self._rules: dict[int, Rule] = {}
        self._lock = threading.Lock()
        self._senders: list[threading.Thread] = []
        self.session = requests.Session()

    def clear(self) -> None:
        self.wait_sent()
        with self._lock:
            self._rules.clear()

    def add(self, spec: Any) -> Rule:
        if not isinstance(spec, Mapping) or spec.get("on") not in EVENTS or not spec.get("url"):
            raise RuleError(
                'a rule is {"on": "sub_tag"|"unsub_tag", "tag_id": N, "url": "...", "method"?, "data"?}'
            )
        method = str(spec.get("method") or "post-form")
        if method not in METHODS:
            raise RuleError(f"method must be one of {', '.join(METHODS)}")
        try:
            tag_id = int(spec["tag_id"])
        except (KeyError, TypeError, ValueError):
            raise RuleError("tag_id must be a tag id") from None
        with self._lock:
            rule = Rule(
                id=max(self._rules, default=0) + 1,
                on=str(spec["on"]),
                tag_id=tag_id,
                url=str(spec["url"]),
                method=method,
                data=str(spec.get("data") or ""),
            )
            self._rules[rule.id] = rule
        return rule

    def rows(self) -> list[dict[str, Any]]:
        self.wait_sent()
        with self._lock:
            return [asdict(rule) for rule in self._rules.values()]

    def tags_changed(self, contact: Record, added: frozenset[int], removed: frozenset[int]) -> None:
        """The store's listener: one ping per rule whose tag changed the way it watches."""
        changed = {"sub_tag": added, "unsub_tag": removed}
        with self._lock:
            due = [rule for rule in self._rules.values() if rule.tag_id in changed[rule.on]]
        for rule in due:
            sender = threading.Thread(
                target=self._ping, args=(rule, dict(contact)), name="sandbox-rule", daemon=True
            )
            sender.start()
            self._senders = [thread for thread in self._senders if thread.is_alive()] + [sender]

    def wait_sent(self, timeout: float = PING_TIMEOUT) -> None:
        for sender in list(self._senders):
            sender.join(timeout)

    def _ping(self, rule: Rule, contact: Record) -> None:
        webhook = build_webhook(rule.url, rule.data, rule.method, contact, self._field_meta())
        try:
            response = self.session.request(
                webhook.method,
                webhook.url,
                data=webhook.body,
                headers=webhook.headers,
                timeout=PING_TIMEOUT,
                allow_redirects=False,
            )
            code = response.status_code
        except requests.RequestException:
            code = 0
        with self._lock:
            rule.sent += 1
            rule.last_code = code
