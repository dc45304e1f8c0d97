"""``python -m ontraport_client.sandbox ping URL --contact ID``: send a webhook as Ontraport would.

Ontraport's "Ping a URL" / "Send a Webhook" takes a URL and an optional body ``key=[Merge Field]&...``,
replaces merge fields with the contact's values (URL-encoded) and, historically, POSTs the body
form-encoded. The contact is read from a running sandbox through its control API.

Merge fields: ``[Contact ID]``, ``[Email]``, ``[First Name]``, ``[Last Name]``, any field by its label
(``[Username]``) or its key (``[f1534]``); case does not matter. An unknown merge field is left as it is
(and reported), so the receiver shows it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ..version import __version__
from .control import SandboxControl, SandboxControlError

MERGE_FIELD = re.compile(r"\[([^\[\]]+)\]")
STANDARD_MERGE_FIELDS = {
    "contact id": "id",
    "email": "email",
    "first name": "firstname",
    "last name": "lastname",
}
METHODS = ("get", "post-form", "post-json")


@dataclass
class Webhook:
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    unknown_merge_fields: list[str] = field(default_factory=list)


class MergeFields:
    """Resolves merge-field names to the values of one contact."""

    def __init__(
        self, contact: Mapping[str, str | None], field_meta: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self.contact = contact
        self.by_label = {str(meta.get("alias", "")).casefold(): key for key, meta in field_meta.items()}
        self.unknown: list[str] = []

    def value(self, name: str) -> str | None:
        wanted = name.strip().casefold()
        key = STANDARD_MERGE_FIELDS.get(wanted) or self.by_label.get(wanted)
        if key is None:
            key = next((k for k in self.contact if k.casefold() == wanted), None)
        if key is None:
            self.unknown.append(name)
            return None
        return self.contact.get(key) or ""

    def substitute(self, template: str, *, url_encode: bool) -> str:
        def replace(match: re.Match[str]) -> str:
            value = self.value(match.group(1))
            if value is None:
                return match.group(0)
            return quote(value, safe="") if url_encode else value

        return MERGE_FIELD.sub(replace, template)


def build_webhook(
    url: str,
    data: str,
    method: str,
    contact: Mapping[str, str | None],
    field_meta: Mapping[str, Mapping[str, Any]],
) -> Webhook:
    merge = MergeFields(contact, field_meta)
    target = merge.substitute(url, url_encode=True)
    headers = {"User-Agent": f"ontraport-sandbox-ping/{__version__}"}
    if method == "get":
        if data:
            target += ("&" if "?" in target else "?") + merge.substitute(data, url_encode=True)
        webhook = Webhook("GET", target, None, headers)
    elif method == "post-form":
        body = merge.substitute(data, url_encode=True).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        webhook = Webhook("POST", target, body, headers)
    else:
        # Split before substituting, so a value holding "&" or "=" stays whole.
        pairs = [pair.partition("=") for pair in data.split("&") if pair]
        payload = {
            merge.substitute(k, url_encode=False): merge.substitute(v, url_encode=False) for k, _, v in pairs
        }
        headers["Content-Type"] = "application/json"
        webhook = Webhook("POST", target, json.dumps(payload).encode(), headers)
    webhook.unknown_merge_fields = merge.unknown
    return webhook


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ontraport_client.sandbox ping",
        description="Send a webhook to URL the way Ontraport does, with merge fields from a sandbox contact.",
    )
    parser.add_argument("url", help="target URL; may hold merge fields, e.g. '...&contact_id=[Contact ID]'")
    parser.add_argument("--contact", type=int, required=True, help="sandbox contact id")
    parser.add_argument(
        "--method", choices=METHODS, default="post-form", help="default: post-form (Ontraport's)"
    )
    parser.add_argument("--data", default="", help="body template, e.g. 'email=[Email]&name=[First Name]'")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8765", help="sandbox address (control API)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the URL to answer")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    """Exit status: 0 when the URL answered 2xx/3xx, 1 for another answer, 2 when nothing was sent."""
    args = parse_args(argv)
    control = SandboxControl(args.sandbox, timeout=10.0)
    try:
        contact = control.get_contact(args.contact)
        field_meta = control.fields()
    except (requests.RequestException, SandboxControlError) as error:
        print(f"cannot read from the sandbox at {args.sandbox}: {error}", file=sys.stderr)
        return 2
    if contact is None:
        print(f"no contact {args.contact} in the sandbox at {args.sandbox}", file=sys.stderr)
        return 2
    webhook = build_webhook(args.url, args.data, args.method, contact, field_meta)
    for name in webhook.unknown_merge_fields:
        print(f"warning: unknown merge field [{name}] left as it is", file=sys.stderr)
    print(f"> {webhook.method} {webhook.url}", file=sys.stderr)
    if webhook.body:
        print(f"> {webhook.body.decode()}", file=sys.stderr)
    try:
        response = requests.request(
            webhook.method,
            webhook.url,
            data=webhook.body,
            headers=webhook.headers,
            timeout=args.timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        print(f"no answer from {webhook.url}: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(f"HTTP {response.status_code} {response.reason}")
    print(response.text)
    return 0 if response.status_code < 400 else 1
