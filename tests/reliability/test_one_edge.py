"""One edge for both endpoints, over HTTP against the real gunicorn (2 sync workers, gunicorn.conf.py):
the hostile table answered alike by the webhook endpoint and the events endpoint; the wrong-key limit held
across gunicorn's workers with the default settings (a per-process cache); gunicorn's access lines masked.
docs/security.md and docs/reliability.md list the table."""

from __future__ import annotations

import http.client
import json
import re
import secrets
import signal
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlencode

import pytest

from ontraport_client.testing import unused_port
from tests.support.processes import site_env
from tests.support.waiting import wait_until
from tests.support.webhooks import ACCESS_KEY
from webhooks.models import Delivery, WrongKeyWindow

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WRONG = "a-wrong-key-0123456789zyxwvu"
DEEP = 50_000
BODY_LIMIT = 256 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE
WEBHOOK, EVENTS = "/webhooks/ontraport/", "/webhooks/ontraport/events/"


@dataclass
class Case:
    name: str
    status: int
    reason: str | None
    query: dict[str, str | list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # None: the endpoint's own valid body (a form)
    content_type: str = "application/x-www-form-urlencoded"
    method: str = "POST"


def valid_fields(endpoint: str) -> dict[str, str]:
    """What each endpoint needs besides the key: a webhook's action and contact, an event's fields."""
    if endpoint == WEBHOOK:
        return {"wpf_action": "update_tags", "contact_id": "1"}
    return {"object_type_id": "0", "event[type]": "sub_tag", "event[tag_id]": "1", "data[id]": "1"}


def multipart(fields: dict[str, str], *, with_file: bool) -> tuple[bytes, str]:
    boundary = "edgeboundary9"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if with_file:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + b"\0" * 64
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def cases(endpoint: str) -> list[Case]:
    fields = valid_fields(endpoint)
    key = {"access_key": ACCESS_KEY}
    deep = b'{"a": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    files_body, files_type = multipart(fields, with_file=True)
    return [
        Case("the valid request (control)", 202, None, query=key),
        Case(
            f"JSON nested {DEEP:,} deep",
            400,
            "invalid_json",
            query=key,
            body=deep,
            content_type="application/json",
        ),
        Case(
            "JSON not UTF-8",
            400,
            "invalid_json",
            query=key,
            body=b'{"a": "\xff"}',
            content_type="application/json",
        ),
        Case(
            "?access_key=wrong&access_key=KEY",
            403,
            "invalid_access_key",
            query={"access_key": [WRONG, ACCESS_KEY]},
        ),
        Case(
            "?access_key=KEY&access_key=wrong",
            403,
            "invalid_access_key",
            query={"access_key": [ACCESS_KEY, WRONG]},
        ),
        Case(
            "right header, wrong URL key",
            403,
            "invalid_access_key",
            query={"access_key": WRONG},
            headers={"X-Fusion-Access-Key": ACCESS_KEY},
        ),
        Case(
            "wrong header, right URL key",
            403,
            "invalid_access_key",
            query=key,
            headers={"X-Fusion-Access-Key": WRONG},
        ),
        Case(
            "right Bearer, wrong X-Fusion-Access-Key",
            403,
            "invalid_access_key",
            headers={"Authorization": f"Bearer {ACCESS_KEY}", "X-Fusion-Access-Key": WRONG},
        ),
        Case(
            "right URL key, wrong key in the form body",
            403,
            "invalid_access_key",
            query=key,
            body=urlencode({**fields, "access_key": WRONG}).encode(),
        ),
        Case(
            "right URL key, wrong key in the JSON body",
            403,
            "invalid_access_key",
            query=key,
            body=json.dumps({"access_key": WRONG}).encode(),
            content_type="application/json",
        ),
        Case("no key at all", 403, "invalid_access_key"),
        Case("a file part", 400, "files_not_accepted", query=key, body=files_body, content_type=files_type),
        Case(
            "multipart without a boundary",
            400,
            "invalid_body",
            query=key,
            body=b"--x\r\nnot multipart",
            content_type="multipart/form-data",  # no boundary: the parser cannot read it
        ),
        Case("a body over the limit", 413, "body_too_large", query=key, body=b"x=" + b"a" * BODY_LIMIT),
        Case("Host: evil.example", 400, "disallowed_host", query=key, headers={"Host": "evil.example"}),
        Case("a method neither offers", 405, "method_not_allowed", query=key, method="OPTIONS"),
    ]


def send(port: int, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str]) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def send_case(port: int, endpoint: str, case: Case) -> tuple[int, str | None]:
    query = urlencode(case.query, doseq=True)
    path = f"{endpoint}?{query}" if query else endpoint
    body = case.body if case.body is not None else urlencode(valid_fields(endpoint)).encode()
    status, text = send(
        port, case.method, path, body=body, headers={"Content-Type": case.content_type, **case.headers}
    )
    try:
        reason = json.loads(text).get("reason")
    except ValueError:
        reason = None
    return status, reason


def start_site(processes, site_sandbox, **env: object) -> int:
    port = unused_port()
    processes.web(site_env(site_sandbox, **env), port, workers=2)
    return port


def test_the_hostile_table_is_answered_alike_by_both_endpoints(site_sandbox, processes, figures):
    port = start_site(processes, site_sandbox, FUSION_BAD_KEY_LIMIT=1000)
    answers: Counter[int] = Counter()
    mismatches, sent = [], 0
    for endpoint in (WEBHOOK, EVENTS):
        for case in cases(endpoint):
            status, reason = send_case(port, endpoint, case)
            sent += 1
            answers[status] += 1
            if status != case.status or (case.reason and reason != case.reason):
                mismatches.append((endpoint, case.name, status, reason))
    assert mismatches == []

    # Stored on each endpoint: the valid request, and the bodies refused while the URL key was valid
    # (deep JSON, not UTF-8, a file part, unreadable multipart, over the limit) as rejected, for the owner.
    # No request with a wrong key anywhere stored anything.
    for endpoint, action in ((WEBHOOK, "update_tags"), (EVENTS, "update_tags")):
        rows = Delivery.objects.filter(path__startswith=endpoint.rstrip("/") + "/?")
        statuses = Counter(rows.values_list("status", flat=True))
        assert statuses == {"pending": 1, "rejected": 5}, (endpoint, statuses)
        assert set(rows.filter(status="rejected").values_list("reason", flat=True)) == {
            "invalid_json",
            "files_not_accepted",
            "invalid_body",
            "body_too_large",
        }
        assert set(rows.values_list("action", flat=True)) <= {action, "invalid"}
    assert not any(
        ACCESS_KEY in path or WRONG in path for path in Delivery.objects.values_list("path", flat=True)
    )
    figures.record("one edge: hostile table on both endpoints (HTTP, gunicorn)", sent=sent, answers=answers)


@pytest.mark.parametrize("shared_cache", [False, True], ids=["default-settings-database", "redis-cache"])
def test_the_wrong_key_limit_holds_across_gunicorns_workers(site_sandbox, processes, shared_cache):
    """Default settings (locmem cache, 2 workers): the 21st wrong key from one address is a 429, whichever
    worker answers it and whichever endpoint it was sent to; another address keeps its own count. The same
    with CACHE_URL naming Redis, where the cache counts and the database is not written."""
    env: dict[str, object] = {"FUSION_TRUSTED_PROXIES": "127.0.0.1"}
    if shared_cache:
        env["CACHE_URL"] = "redis://127.0.0.1:6379/13"
    port = start_site(processes, site_sandbox, **env)
    # Addresses of this run only (a Redis count outlives the test for its window).
    attacker, other = f"203.0.113.{secrets.randbelow(250) + 1}", f"198.51.100.{secrets.randbelow(250) + 1}"
    limit = 20
    statuses = []
    for n in range(limit + 10):
        endpoint = (WEBHOOK, EVENTS)[n % 2]
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": attacker}
        body = urlencode(valid_fields(endpoint)).encode()
        # A new connection each: gunicorn's workers take them in turn.
        statuses.append(
            send(port, "POST", f"{endpoint}?access_key={WRONG}{n}", body=body, headers=headers)[0]
        )
    assert statuses == [403] * limit + [429] * 10
    assert (
        send(port, "GET", f"/?wpf_action=test&access_key={WRONG}", headers={"X-Forwarded-For": other})[0]
        == 403
    )
    # The right key is never throttled, even from the throttled address.
    right = send(
        port, "GET", f"/?wpf_action=test&access_key={ACCESS_KEY}", headers={"X-Forwarded-For": attacker}
    )
    assert right[0] == 200
    assert Delivery.objects.filter(status="pending").count() == 0
    counted_in_database = set(WrongKeyWindow.objects.values_list("source", flat=True))
    assert counted_in_database == (set() if shared_cache else {attacker, other})


def test_gunicorns_access_and_error_lines_are_masked(site_sandbox, processes):
    """The key in the path, the query string (encoded names too), the User-Agent and the Referer is printed
    as ***; the lines are really there (a line per request, with the rest of the request line)."""
    port = start_site(processes, site_sandbox)
    requests_sent = [
        ("GET", f"/?wpf_action=test&access_key={ACCESS_KEY}", {}),
        ("GET", f"/any/page/?wpf_action=test&%61ccess_key={ACCESS_KEY}", {}),
        ("GET", f"/x/{ACCESS_KEY}/y/?note=1", {}),
        (
            "GET",
            "/?wpf_action=test",
            {"X-Fusion-Access-Key": ACCESS_KEY, "User-Agent": f"agent {ACCESS_KEY}"},
        ),
        ("GET", "/healthz", {"Referer": f"https://example.com/?access_key={quote(ACCESS_KEY)}&a=1"}),
        ("GET", f"/?wpf_action=test&access_key={WRONG}", {"User-Agent": f"curl access_key={WRONG}"}),
        ("POST", f"/?wpf_action=test&access_key={quote_plus(ACCESS_KEY)}", {"Content-Length": "3"}),
    ]
    for method, path, headers in requests_sent:
        send(port, method, path, body=b"a=1" if method == "POST" else None, headers=headers)
    web = processes.started[-1]
    web.send_signal(signal.SIGTERM)  # gunicorn flushes and exits: every line is in the log
    wait_until(lambda: web.poll() is not None, timeout=30, what="gunicorn to stop")
    log = processes.logs()
    access_lines = [line for line in log.splitlines() if re.search(r'" (200|202|400|403|404) ', line)]
    assert len(access_lines) >= len(requests_sent), log[-3000:]
    assert '"GET /x/***/y/?note=1 HTTP/1.1"' in log
    assert "access_key=***" in log and "%61ccess_key=***" in log and "agent ***" in log
    assert ACCESS_KEY not in log and quote(ACCESS_KEY) not in log and WRONG not in log
