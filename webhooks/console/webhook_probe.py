""" "Send a test webhook": a real HTTP request to the site's own webhook URL, as Ontraport would send it.

It goes through everything a real webhook does (the network, the site's address, a proxy if there is one,
the key check, the log, the worker), so a success here means Ontraport's webhooks will work too. The key
travels in the form body, so it never appears in a URL (and in no proxy's access log).
"""

from dataclasses import dataclass
from urllib.parse import urlencode

import requests

ACTIONS = ("update", "update_tags", "add")
TIMEOUT = 15.0


@dataclass(frozen=True)
class ProbeAnswer:
    sent_to: str  # the URL, without the key
    status: int | None  # None: no answer
    delivery_id: int | None
    detail: str  # the site's reason or the network error, in words


def webhook_probe_send(*, base_url: str, access_key: str, contact_id: int, action: str) -> ProbeAnswer:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    url = f"{base_url.rstrip('/')}/?" + urlencode({"wpf_action": action, "contact_id": contact_id})
    try:
        response = requests.post(
            url,
            data={"access_key": access_key},
            headers={"User-Agent": "fusion-site test webhook"},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return ProbeAnswer(url, None, None, f"no answer from {url}: {type(error).__name__}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    delivery_id = body.get("delivery_id")
    detail = str(body.get("detail") or body.get("reason") or body.get("status") or response.reason)
    return ProbeAnswer(
        url, response.status_code, delivery_id if isinstance(delivery_id, int) else None, detail
    )
