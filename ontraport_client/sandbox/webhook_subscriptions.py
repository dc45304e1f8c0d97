"""Ontraport's webhook subscriptions, as the sandbox serves them: subscribe, list, unsubscribe, and the
events really POSTed to the subscribed URL when a contact gains or loses a subscribed tag.

    POST   /Webhook/subscribe     a FORM body: url, event ("sub_tag(N)" | "unsub_tag(N)"), data (options)
    GET    /Webhooks              every subscription of the account, other apps' too, 50 rows a page
    DELETE /Webhook/unsubscribe   id

As documented (PHP SDK ``src/Webhooks.php``, Ontraport's "API Webhook Subscriptions" article): the event
names its tag in parentheses, ``data`` holds payload options (``{"format": "notify"}``: the id only;
``{"format": "lightweight"}``: id, names, e-mail; none: the whole record). An event is sent the way
Ontraport's own example shows it: a form-encoded POST of ``webhook_id``, ``object_type_id``, ``event[type]``
(the bare name), ``event[tag_id]``, the contact as ``data[field]`` and ``timestamp``. Each one is sent from a
thread of its own with a timeout, so the API call (or control call) that changed the tags answers at once,
whatever the receiving site does. Other apps' subscriptions (seeded with the control API) are listed and
can be unsubscribed, but never POSTed to: their URLs are somebody else's.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import requests

from ..version import __version__
from .store import Record

EVENTS = ("sub_tag", "unsub_tag")
EVENT_PATTERN = re.compile(r"(sub_tag|unsub_tag)\((\d+)\)")
FORMATS = ("notify", "lightweight")
LIGHTWEIGHT_FIELDS = ("id", "firstname", "lastname", "email")
POST_TIMEOUT = 10.0


@dataclass
class Subscription:
    id: int
    event: str  # as made: "sub_tag(3)"; another app's row may hold any event
    url: str
    data: str = ""  # the payload options as sent, e.g. '{"format":"notify"}'
    last_code: int = 0  # 0 until an event was sent; then the URL's HTTP status (or 0 when it never answered)
    last_hook: str = ""  # unix seconds of the last event sent
    last_payload: str = ""
    foreign: bool = False  # another app's subscription (seeded): listed, never sent to

    @property
    def tag_event(self) -> tuple[str, int] | None:
        matched = EVENT_PATTERN.fullmatch(self.event)
        return (matched.group(1), int(matched.group(2))) if matched else None

    @property
    def format(self) -> str:
        try:
            options = json.loads(self.data) if self.data else {}
        except ValueError:
            return ""
        return str(options.get("format") or "") if isinstance(options, Mapping) else ""

    def row(self) -> dict[str, str]:
        """As Ontraport lists it: every value a string."""
        return {
            "id": str(self.id),
            "event": self.event,
            "data": self.data,
            "url": self.url,
            "last_code": str(self.last_code),
            "last_hook": self.last_hook,
            "last_payload": self.last_payload,
        }


class SubscriptionError(ValueError):
    pass


class WebhookSubscriptions:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._subscriptions: dict[int, Subscription] = {}
        self._next_id = 1
        self._senders: list[threading.Thread] = []
        self.session = requests.Session()

    def clear(self) -> None:
        with self._lock:
            self._subscriptions.clear()
            self._next_id = 1

    def subscribe(self, params: Mapping[str, Any]) -> Subscription:
        url = str(params.get("url") or "").strip()
        event = str(params.get("event") or "").strip()
        if not url.startswith(("http://", "https://")):
            raise SubscriptionError("Invalid parameter: url")
        matched = EVENT_PATTERN.fullmatch(event)
        if matched is None:
            raise SubscriptionError(
                "Invalid parameter: event (the sandbox knows sub_tag(N) and unsub_tag(N), N a tag id)"
            )
        if int(matched.group(2)) <= 0:
            raise SubscriptionError("Invalid parameter: event (the tag id must be positive)")
        data = params.get("data")
        text = "" if data in (None, "") else str(data)
        if text:
            try:
                options = json.loads(text)
            except ValueError:
                raise SubscriptionError("Invalid parameter: data must be a JSON object of options") from None
            if not isinstance(options, dict) or options.get("format", "notify") not in FORMATS:
                raise SubscriptionError('Invalid parameter: data (format is "notify" or "lightweight")')
        return self.add(event=event, url=url, data=text)

    def add(self, *, event: str, url: str, data: str = "", foreign: bool = False) -> Subscription:
        with self._lock:
            subscription = Subscription(id=self._next_id, event=event, url=url, data=data, foreign=foreign)
            self._subscriptions[subscription.id] = subscription
            self._next_id += 1
            return replace(subscription)

    def rows(self, start: int = 0, count: int | None = None) -> list[dict[str, str]]:
        with self._lock:
            ordered = [self._subscriptions[key] for key in sorted(self._subscriptions)]
        end = None if count is None else start + count
        return [subscription.row() for subscription in ordered[start:end]]

    def unsubscribe(self, subscription_id: int) -> bool:
        with self._lock:
            return self._subscriptions.pop(subscription_id, None) is not None

    def tags_changed(self, contact: Record, added: frozenset[int], removed: frozenset[int]) -> None:
        """The store's listener: send one event per matching subscription, each from its own thread."""
        changed = {"sub_tag": added, "unsub_tag": removed}
        with self._lock:
            due = [
                replace(subscription)
                for subscription in self._subscriptions.values()
                if not subscription.foreign
                and (target := subscription.tag_event) is not None
                and target[1] in changed[target[0]]
            ]
        for subscription in due:
            sender = threading.Thread(
                target=self._send, args=(subscription, dict(contact)), name="sandbox-webhook", daemon=True
            )
            sender.start()
            self._senders = [thread for thread in self._senders if thread.is_alive()] + [sender]

    def wait_sent(self, timeout: float = POST_TIMEOUT) -> None:
        """Wait for events still being sent (tests and scripts that want the receiver to have them)."""
        for sender in list(self._senders):
            sender.join(timeout)

    def _send(self, subscription: Subscription, contact: Record) -> None:
        target = subscription.tag_event
        if target is None:  # only tag subscriptions are due
            return
        fields: list[tuple[str, str]] = [
            ("webhook_id", str(subscription.id)),
            ("object_type_id", "0"),
            ("event[type]", target[0]),
            ("event[tag_id]", str(target[1])),
        ]
        payload_format = subscription.format
        if payload_format == "notify":
            shown = {"id": contact.get("id")}
        elif payload_format == "lightweight":
            shown = {key: contact.get(key) for key in LIGHTWEIGHT_FIELDS}
        else:
            shown = dict(contact)
        fields += [(f"data[{key}]", value or "") for key, value in shown.items()]
        fields.append(("timestamp", str(int(self._clock()))))
        body = urlencode(fields)
        try:
            response = self.session.post(
                subscription.url,
                data=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": f"ontraport-sandbox-webhooks/{__version__}",
                },
                timeout=POST_TIMEOUT,
                allow_redirects=False,
            )
            code = response.status_code
        except requests.RequestException:
            code = 0
        with self._lock:
            stored = self._subscriptions.get(subscription.id)
            if stored is not None:
                stored.last_code = code
                stored.last_hook = str(int(self._clock()))
                stored.last_payload = body
