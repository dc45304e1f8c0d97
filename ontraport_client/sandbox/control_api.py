"""The sandbox's own API under ``/_sandbox/``: seed, inspect, inject faults, reset.

Outside Ontraport's paths, needs no credentials, is not counted in the stats and never rate limited.
Answers are JSON; a bad request gets 400 ``{"error": "..."}``.

    GET    /_sandbox/                 health: counts and current limits
    GET    /_sandbox/stats            API requests received, by endpoint and status; 429s
    GET    /_sandbox/calls            the newest API requests (up to 10,000): when each arrived, its endpoint
    POST   /_sandbox/reset            back to the start configuration; body may override
                                      {"data": "demo"|"empty"|{...}, "rate_limit": N, "window": S}
    POST   /_sandbox/contacts         create or replace a contact (object) or many (list)
    GET    /_sandbox/contacts/<id>    the stored contact, raw
    DELETE /_sandbox/contacts/<id>
    POST   /_sandbox/tags             create tags: {"tag_name": "X", "tag_id": 7?, "object_type_id": 0?} or a
                                      list of them (another object type's tag: listed, not a contact's)
    GET    /_sandbox/fields           contact field meta by field key
    GET    /_sandbox/faults           faults still pending
    POST   /_sandbox/faults           queue a fault (object) or several (list); see faults.py
    DELETE /_sandbox/faults           drop pending faults
    GET    /_sandbox/webhooks         webhook subscriptions (as GET /Webhooks lists them, all pages), once the
                                      events being sent have been answered
    POST   /_sandbox/webhooks         other apps' subscriptions: {"event": "sub_tag(3)", "url": ..., "data"?}
                                      or a list; listed and removable, never POSTed to
    GET    /_sandbox/behaviour        how this account behaves where accounts may differ
    POST   /_sandbox/behaviour        {"ignore_condition": true}: list calls ignore ``condition``
    GET    /_sandbox/rules            rules that ping a URL when a tag changes, with pings sent (rules.py)
    POST   /_sandbox/rules            {"on": "sub_tag"|"unsub_tag", "tag_id": N, "url", "method"?, "data"?}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Protocol

from .config import SandboxConfig
from .faults import FaultQueue
from .ontraport_api import OntraportApi
from .rules import RuleError, TagRules
from .seed import SeedSource
from .stats import RequestStats
from .store import ContactStore, DuplicateTagError
from .webhook_subscriptions import WebhookSubscriptions
from .wire import Request, Response, json_response


class SandboxApp(Protocol):
    """What the control API works on: the parts of the running sandbox (sandbox.app.SandboxApp)."""

    config: SandboxConfig
    store: ContactStore
    api: OntraportApi
    faults: FaultQueue
    stats: RequestStats
    webhooks: WebhookSubscriptions
    rules: TagRules

    def reset(
        self, *, data: SeedSource | None = None, rate_limit: int | None = None, window: float | None = None
    ) -> None: ...


class BadControlRequest(Exception):
    pass


def handle(app: SandboxApp, request: Request, subpath: str) -> Response:
    parts = [part for part in subpath.split("/") if part]
    try:
        body = request.json_body()
    except (ValueError, UnicodeDecodeError):
        return json_response(400, {"error": "the body must be JSON"})
    try:
        return _route(app, request.method, parts, body)
    except (BadControlRequest, ValueError, TypeError) as error:
        return json_response(400, {"error": str(error)})


def _route(app: SandboxApp, method: str, parts: list[str], body: Any) -> Response:
    match (method, parts):
        case ("GET", [] | ["health"]):
            return json_response(200, _health(app))
        case ("GET", ["stats"]):
            return json_response(200, app.stats.snapshot())
        case ("GET", ["calls"]):
            return json_response(200, app.stats.calls())
        case ("POST", ["reset"]):
            return json_response(200, _reset(app, body))
        case ("POST", ["contacts"]):
            return _add_contacts(app, body)
        case ("POST", ["contacts", "merge"]):
            return _merge_contacts(app, body)
        case ("GET" | "DELETE", ["contacts", contact_id]):
            return _one_contact(app, method, _contact_id(contact_id))
        case ("POST", ["tags"]):
            return _add_tags(app, body)
        case ("GET", ["fields"]):
            return json_response(200, app.store.field_meta())
        case ("GET", ["faults"]):
            return json_response(200, {"pending": app.faults.pending()})
        case ("POST", ["faults"]):
            for spec in body if isinstance(body, list) else [body]:
                app.faults.add(spec)
            return json_response(200, {"pending": app.faults.pending()})
        case ("DELETE", ["faults"]):
            app.faults.clear()
            return json_response(200, {"pending": []})
        case ("GET", ["webhooks"]):
            app.webhooks.wait_sent()
            return json_response(200, app.webhooks.rows())
        case ("POST", ["webhooks"]):
            return _add_foreign_webhooks(app, body)
        case ("GET", ["rules"]):
            return json_response(200, app.rules.rows())
        case ("POST", ["rules"]):
            try:
                return json_response(200, asdict(app.rules.add(body)))
            except RuleError as error:
                raise BadControlRequest(str(error)) from None
        case ("GET", ["behaviour"]):
            return json_response(200, _behaviour(app))
        case ("POST", ["behaviour"]):
            if not isinstance(body, Mapping) or set(body) - {"ignore_condition"}:
                raise BadControlRequest('behaviour takes {"ignore_condition": true|false}')
            if "ignore_condition" in body:
                app.api.ignore_condition = bool(body["ignore_condition"])
            return json_response(200, _behaviour(app))
    return json_response(404, {"error": f"no control endpoint {method} /_sandbox/{'/'.join(parts)}"})


def _health(app: SandboxApp) -> dict[str, Any]:
    return {
        "ok": True,
        "contacts": app.store.contact_count(),
        "tags": len(app.store.tags()),
        "rate_limit": app.config.rate_limit,
        "window": app.config.window,
    }


def _reset(app: SandboxApp, body: Any) -> dict[str, Any]:
    options = body if body is not None else {}
    if not isinstance(options, Mapping) or set(options) - {"data", "rate_limit", "window"}:
        raise BadControlRequest('reset takes {"data": "demo"|"empty"|{...}, "rate_limit": N, "window": S}')
    data = options.get("data")
    # File paths are accepted on the command line only: the control API must not read local files.
    if data is not None and not (data in ("demo", "empty") or isinstance(data, Mapping)):
        raise BadControlRequest('"data" must be "demo", "empty" or an object')
    rate_limit = options.get("rate_limit")
    window = options.get("window")
    if rate_limit is not None and (not isinstance(rate_limit, int) or isinstance(rate_limit, bool)):
        raise BadControlRequest('"rate_limit" must be an integer')
    if window is not None and (not isinstance(window, int | float) or isinstance(window, bool)):
        raise BadControlRequest('"window" must be a number of seconds')
    app.reset(data=data, rate_limit=rate_limit, window=window)
    return _health(app)


def _behaviour(app: SandboxApp) -> dict[str, Any]:
    return {"ignore_condition": app.api.ignore_condition}


def _add_foreign_webhooks(app: SandboxApp, body: Any) -> Response:
    made = []
    for item in body if isinstance(body, list) else [body]:
        if not isinstance(item, Mapping) or not item.get("event") or not item.get("url"):
            raise BadControlRequest('another app\'s subscription is {"event": "...", "url": "...", "data"?}')
        subscription = app.webhooks.add(
            event=str(item["event"]), url=str(item["url"]), data=str(item.get("data") or ""), foreign=True
        )
        made.append(subscription.row())
    return json_response(200, made if isinstance(body, list) else made[0])


def _contact_id(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise BadControlRequest(f"not a contact id: {text!r}")
    return int(text)


def _add_contacts(app: SandboxApp, body: Any) -> Response:
    if isinstance(body, list):
        # Bulk seeding (benchmarks load thousands): answer ids only, not every record back.
        ids = [int(app.store.put_contact(_fields(item))["id"] or 0) for item in body]
        return json_response(200, {"count": len(ids), "ids": ids})
    return json_response(200, app.store.put_contact(_fields(body)))


def _fields(item: Any) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise BadControlRequest("a contact must be a JSON object of Ontraport fields")
    return item


def _one_contact(app: SandboxApp, method: str, contact_id: int) -> Response:
    if method == "DELETE":
        if app.store.delete_contact(contact_id):
            return json_response(200, {"deleted": contact_id})
    else:
        contact = app.store.contact(contact_id)
        if contact is not None:
            return json_response(200, contact)
    return json_response(404, {"error": f"no contact {contact_id}"})


def _merge_contacts(app: SandboxApp, body: Any) -> Response:
    if not isinstance(body, Mapping) or not {"into", "from"} <= set(body):
        raise BadControlRequest('a merge is {"into": SURVIVOR_ID, "from": MERGED_ID}')
    survivor = app.store.merge_contacts(
        survivor_id=_contact_id(str(body["into"])), merged_id=_contact_id(str(body["from"]))
    )
    if survivor is None:
        return json_response(404, {"error": "both contacts must exist and differ"})
    return json_response(200, survivor)


def _add_tags(app: SandboxApp, body: Any) -> Response:
    created = []
    for item in body if isinstance(body, list) else [body]:
        if not isinstance(item, Mapping) or not item.get("tag_name"):
            raise BadControlRequest('a tag is {"tag_name": "X"} with an optional "tag_id"')
        tag_id = None if item.get("tag_id") in (None, "") else int(item["tag_id"])
        object_type = int(item.get("object_type_id") or 0)
        try:
            tag_id, name = app.store.create_tag(str(item["tag_name"]), tag_id, object_type)
        except DuplicateTagError as error:
            raise BadControlRequest(str(error)) from None
        created.append({"tag_id": str(tag_id), "tag_name": name, "object_type_id": str(object_type)})
    return json_response(200, created if isinstance(body, list) else created[0])
