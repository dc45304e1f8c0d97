"""Ontraport's webhook subscriptions, as the sandbox serves them: subscribe, list, unsubscribe, and the
events really POSTed to the subscribed URL when a contact gains or loses a subscribed tag.

    POST   /Webhook/subscribe     url, event ("sub_tag" | "unsub_tag"), data ('{"tag_id": 3}')
    GET    /Webhooks              every subscription, with the code its URL last answered
    DELETE /Webhook/unsubscribe   id

An event is sent the way Ontraport sends it: a form-encoded POST of ``webhook_id``, ``object_type_id``,
``event[type]``, ``event[tag_id]`` and the contact as ``data[field]``. Each one is sent from a thread of its
own with a timeout, so the API call (or control call) that changed the tags answers at once, whatever the
receiving site does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from ..version import __version__
from .store import Record

EVENTS = ("sub_tag", "unsub_tag")
POST_TIMEOUT = 10.0


@dataclass
class Subscription:
    id: int
    event: str
    tag_id: int
    url: str
    last_code: int = 0  # 0 until an event was sent; then the URL's HTTP status (or 0 when it never answered)
    last_hook: str = ""  # unix seconds of the last event sent

    def row(self) -> dict[str, str]:
        """As Ontraport lists it: every value a string, ``data`` the JSON the subscription was made with."""
        return {
            "id": str(self.id),
            "event": self.event,
            "data": json.dumps({"tag_id": self.tag_id}),
            "url": self.url,
            "last_code": str(self.last_code),
            "last_hook": self.last_hook,
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

    def subscribe(self, params: Mapping[str, Any]) -> Subscription:
        url = str(params.get("url") or "").strip()
        event = str(params.get("event") or "").strip()
        if not url.startswith(("http://", "https://")):
            raise SubscriptionError("Invalid parameter: url")
        if event not in EVENTS:
            raise SubscriptionError("Invalid parameter: event (the sandbox knows sub_tag and unsub_tag)")
        tag_id = _tag_id(params.get("data"))
        with self._lock:
            subscription = Subscription(id=self._next_id, event=event, tag_id=tag_id, url=url)
            self._subscriptions[subscription.id] = subscription
            self._next_id += 1
            return Subscription(**asdict(subscription))

    def rows(self) -> list[dict[str, str]]:
        with self._lock:
            return [subscription.row() for subscription in self._subscriptions.values()]

    def unsubscribe(self, subscription_id: int) -> bool:
        with self._lock:
            return self._subscriptions.pop(subscription_id, None) is not None

    def tags_changed(self, contact: Record, added: frozenset[int], removed: frozenset[int]) -> None:
        """The store's listener: send one event per matching subscription, each from its own thread."""
        with self._lock:
            due = [
                subscription
                for subscription in self._subscriptions.values()
                if subscription.tag_id in (added if subscription.event == "sub_tag" else removed)
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
        fields: list[tuple[str, str]] = [
            ("webhook_id", str(subscription.id)),
            ("object_type_id", "0"),
            ("event[type]", subscription.event),
            ("event[tag_id]", str(subscription.tag_id)),
        ]
        fields += [(f"data[{key}]", value or "") for key, value in contact.items()]
        try:
            response = self.session.post(
                subscription.url,
                data=urlencode(fields),
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


def _tag_id(data: Any) -> int:
    """``data`` is a JSON string (as Ontraport takes it) or, from a JSON body, already an object."""
    try:
        parsed = json.loads(data) if isinstance(data, str) else data
        tag_id = int(str(parsed["tag_id"]))
    except (ValueError, TypeError, KeyError):
        raise SubscriptionError('Invalid parameter: data must be {"tag_id": N}') from None
    if tag_id <= 0:
        raise SubscriptionError('Invalid parameter: data must be {"tag_id": N}')
    return tag_id
