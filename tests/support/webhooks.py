"""Sending webhooks to a running site over HTTP, as Ontraport's "Ping a URL" does (the `webhook` fixture
sends them through Django's test client instead), and the access key the test settings configure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import requests

if TYPE_CHECKING:
    from webhooks.models import Delivery

ACCESS_KEY = "test-access-key-0123456789abcdef"


def send_webhook(
    base_url: str,
    action: str,
    contact_id: object = None,
    raw_extra: str = "",
    *,
    access_key: str = ACCESS_KEY,
    timeout: float = 30,
    **params: object,
) -> requests.Response:
    """GET `base_url`/?wpf_action=…&access_key=…&contact_id=… and `params`; `raw_extra` is appended to the
    query string exactly as written (for the bytes a client would not encode that way)."""
    query = f"wpf_action={quote(action)}&access_key={quote(access_key, safe='')}"
    if contact_id is not None:
        query += f"&contact_id={quote(str(contact_id))}"
    if params:
        query += "&" + urlencode(params)
    return requests.get(f"{base_url}/?{query}{raw_extra}", timeout=timeout)


def accepted(response: requests.Response) -> Delivery:
    """The delivery a webhook's 202 answer names (failing the test on any other answer)."""
    from webhooks.models import Delivery

    assert response.status_code == 202, response.text
    return Delivery.objects.get(pk=response.json()["delivery_id"])


def deliver(base_url: str, action: str, contact_id: object, raw_extra: str = "", **params: Any) -> Delivery:
    """Send a webhook and return the delivery the site stored for it (it must be accepted)."""
    return accepted(send_webhook(base_url, action, contact_id, raw_extra, **params))
