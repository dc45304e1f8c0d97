"""The hostile table, sent over HTTP to a running site (runserver, DEBUG on, so its error pages are
the verbose ones) whose keys hold the characters escaping changes (<&>"'+%;=): every case gets its answer,
and afterwards no form of any configured secret is found in the site's log, the database, the admin pages,
or any page the site answered (the DEBUG 404 pages included). docs/reliability.md lists the table."""

from __future__ import annotations

import html
import http.client
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import pytest
from django.apps import apps
from django.core import serializers
from django.urls import reverse

from ontraport_client.testing import unused_port
from tests.support.admin_clients import superuser_client
from tests.support.processes import port_open, site_env
from tests.support.waiting import wait_until
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KEY = "Fu<&>\"'+%;=sion-0123456789abcdef"
OLD_KEY = "Old<&>\"'key-0123456789abcdef"
GUESS = "a-guessed-key-9876543210zyxwvu"  # never configured: hidden by its parameter's name alone
EXTRA_HOST = "hooks.internal"
DEEP = 100_000


def q(value: str) -> str:
    return quote(value, safe="")


@dataclass
class Case:
    name: str
    path: str
    status: int
    reason: str | None = None
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None


def multipart(fields: dict[str, str], file_bytes: bytes | None = None) -> tuple[bytes, str]:
    boundary = "fusionboundary7"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file_bytes is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + file_bytes
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def deep_json(**top: object) -> bytes:
    head = json.dumps(top)[:-1].encode()
    return head + b', "x": ' + b"[" * DEEP + b"]" * DEEP + b"}"


def cases() -> list[Case]:
    big_form, big_type = multipart({"wpf_action": "add", "access_key": GUESS, "pad": "x" * 50 * 2**20})
    files_form, files_type = multipart(
        {"wpf_action": "add", "contact_id": "1", "access_key": KEY}, b"\0" * 100
    )
    json_type = "application/json"
    return [
        # The key recognised by meaning: what Django reads as access_key works and is masked.
        Case("name percent-encoded (%61ccess_key)", f"/?wpf_action=test&%61ccess_key={q(KEY)}", 200),
        Case(
            "name fully encoded, on any path",
            f"/any/page/?wpf_action=add&contact_id=1&%61%63cess%5Fkey={q(KEY)}",
            202,
        ),
        Case(
            "the key again as another parameter's value",
            f"/?wpf_action=add&contact_id=3&access_key={q(KEY)}&role={q(KEY)}&email={q(OLD_KEY)}",
            202,
        ),
        Case("name upper-case (not the key)", f"/?wpf_action=add&contact_id=1&ACCESS_KEY={q(GUESS)}", 403),
        Case("name with [] (refused)", f"/?wpf_action=add&contact_id=1&access_key[]={q(KEY)}", 403),
        Case("name double-encoded (refused)", f"/?wpf_action=add&contact_id=1&%2561ccess_key={q(KEY)}", 403),
        Case("previous key in the URL", f"/?wpf_action=test&access_key={q(OLD_KEY)}", 200),
        Case("wrong key in the URL", f"/?wpf_action=add&contact_id=1&access_key={q(GUESS)}", 403),
        # The key in a header.
        Case("X-Fusion-Access-Key header", "/?wpf_action=test", 200, headers={"X-Fusion-Access-Key": KEY}),
        Case(
            "Authorization: Bearer header",
            "/hooks/?wpf_action=add&contact_id=2",
            202,
            headers={"Authorization": f"Bearer {OLD_KEY}"},
        ),
        Case("wrong key in the header", "/?wpf_action=test", 403, headers={"X-Fusion-Access-Key": GUESS}),
        Case(
            "header and URL keys differ",
            f"/?wpf_action=test&access_key={q(OLD_KEY)}",
            403,
            headers={"X-Fusion-Access-Key": KEY},
        ),
        # Bodies.
        Case(
            f"JSON nested {DEEP:,} deep, any path",
            "/any/page/",
            400,
            "invalid_json",
            "POST",
            body=deep_json(wpf_action="add", contact_id=1, access_key=KEY),
            content_type=json_type,
        ),
        Case(
            f"JSON nested {DEEP:,} deep, key in URL",
            f"/?wpf_action=add&access_key={q(KEY)}",
            400,
            "invalid_json",
            "POST",
            body=deep_json(contact_id=1),
            content_type=json_type,
        ),
        Case(
            "JSON nested deep, no wpf_action: not a webhook",
            "/any/page/",
            404,  # the page's own answer: never parsed as a webhook
            method="POST",
            body=deep_json(contact_id=1),
            content_type=json_type,
        ),
        Case(
            "50 MB multipart, wrong key, root", "/", 413, method="POST", body=big_form, content_type=big_type
        ),
        Case(
            "50 MB multipart, wpf_action in URL",
            f"/some/page/?wpf_action=add&access_key={q(GUESS)}",
            413,
            "body_too_large",
            "POST",
            body=big_form,
            content_type=big_type,
        ),
        Case(
            "multipart with a file part",
            "/",
            400,
            "files_not_accepted",
            "POST",
            body=files_form,
            content_type=files_type,
        ),
        Case(
            "1 MB JSON",
            f"/?wpf_action=add&access_key={q(KEY)}",
            413,
            "body_too_large",
            "POST",
            body=json.dumps({"contact_id": 1, "pad": "x" * 2**20}).encode(),
            content_type=json_type,
        ),
        # Hosts.
        Case(
            "Host: evil.example",
            f"/?wpf_action=test&access_key={q(KEY)}",
            400,
            "disallowed_host",
            headers={"Host": "evil.example"},
        ),
        Case(
            "Host in FUSION_WEBHOOK_EXTRA_HOSTS",
            f"/?wpf_action=test&access_key={q(KEY)}",
            200,
            headers={"Host": EXTRA_HOST},
        ),
        Case("extra host on a page (not a webhook)", "/", 400, headers={"Host": EXTRA_HOST}),
        # A URL with the key but no wpf_action is a webhook missing its action, not the page at that path.
        Case("key but no wpf_action", f"/no/such/page/?access_key={q(KEY)}&x=1", 400, "missing_action"),
        Case("encoded key name, no wpf_action", f"/?%61ccess_key={q(OLD_KEY)}", 400, "missing_action"),
        Case("guessed key, no wpf_action", f"/no/such/page/?access_key={q(GUESS)}", 403),
        # DEBUG pages echo the request: secrets are masked there too.
        Case("DEBUG 404 page, the key as another value", f"/no/such/page/?next={q(KEY)}&x=1", 404),
        Case("DEBUG 404 page, a password", f"/no/such/page/?password={q(GUESS)}", 404),
        Case("DEBUG 404 page, the key in the path", f"/no/{q(OLD_KEY)}/page/", 404),
    ]


def secret_forms(secret: str) -> set[str]:
    return {
        secret,
        q(secret),
        quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
    }


def test_the_hostile_table_over_http_and_no_secret_anywhere_after_it(
    site_sandbox, processes, settings, figures
):
    settings.FUSION_ACCESS_KEY, settings.FUSION_PREVIOUS_ACCESS_KEYS = KEY, [OLD_KEY]
    port = unused_port()
    env = site_env(
        site_sandbox,
        DEBUG="true",
        FUSION_ACCESS_KEY=KEY,
        FUSION_PREVIOUS_ACCESS_KEYS=OLD_KEY,
        FUSION_WEBHOOK_EXTRA_HOSTS=EXTRA_HOST,
    )
    server = processes.start(
        "runserver", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env
    )
    wait_until(lambda: port_open(port) or server.poll() is not None, timeout=60, what="runserver")
    assert server.poll() is None, processes.logs()

    table = cases()
    answers: Counter[int] = Counter()
    mismatches, pages = [], []
    for case in table:
        headers = dict(case.headers)
        if case.content_type:
            headers["Content-Type"] = case.content_type
        # http.client sends the path byte for byte (requests would normalise %61 to "a").
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request(case.method, case.path, body=case.body, headers=headers)
            response = conn.getresponse()
            status, content_type, text = (
                response.status,
                response.getheader("Content-Type", ""),
                response.read().decode(errors="replace"),
            )
        except OSError as error:  # a server that stops reading a refused body
            mismatches.append((case.name, "connection error", str(error)[:200]))
            continue
        finally:
            conn.close()
        answers[status] += 1
        pages.append(text)
        reason = json.loads(text).get("reason") if "json" in content_type else None
        if status != case.status or (case.reason and reason != case.reason):
            mismatches.append((case.name, status, reason))
    assert mismatches == []

    # What was stored: the accepted ones, and the refused bodies whose URL carried a valid key.
    stored = Counter(Delivery.objects.values_list("status", flat=True))
    assert stored == {"pending": 3, "done": 4, "rejected": 4}
    assert set(Delivery.objects.filter(status="rejected").values_list("reason", flat=True)) == {
        "invalid_json",
        "body_too_large",
        "missing_action",
    }
    paths = list(Delivery.objects.values_list("path", flat=True))
    assert any("%61ccess_key=***" in path for path in paths), paths

    texts = {"site log": processes.logs(), "answers and DEBUG pages": "\n".join(pages)}
    texts["database"] = "\n".join(
        serializers.serialize("json", model.objects.all()) for model in apps.get_models()
    )
    admin = superuser_client()
    admin_pages = [reverse("admin:webhooks_delivery_changelist"), reverse("admin:accounts_user_changelist")]
    admin_pages += [
        reverse("admin:webhooks_delivery_change", args=[pk])
        for pk in Delivery.objects.values_list("pk", flat=True)
    ]
    texts["admin"] = "".join(admin.get(page).content.decode() for page in admin_pages)
    assert "Page not found" in texts["answers and DEBUG pages"]  # the DEBUG 404 page was really served
    assert "GET /?wpf_action=test" in texts["site log"]  # the request lines were really logged

    secrets = {"key": KEY, "previous key": OLD_KEY, "guessed key": GUESS, "API key": site_sandbox.api_key}
    leaks = [
        (name, where, form)
        for name, secret in secrets.items()
        for form in secret_forms(secret)
        for where, text in texts.items()
        if form in text
    ]
    assert leaks == []
    figures.record("hostile edge table (HTTP)", sent=len(table), answers=answers)


def test_error_reports_scrub_every_form_of_every_secret_in_every_section(settings, monkeypatch):
    """A view that raises while holding the key (in GET under an encoded name, in POST, in a header, in
    frame locals): the text and HTML reports (mailed to ADMINS, shown under DEBUG) carry no form of it."""
    from django.test import RequestFactory
    from django.views.debug import get_exception_reporter_class

    from webhooks.views import ontraport_webhook

    settings.FUSION_ACCESS_KEY, settings.FUSION_PREVIOUS_ACCESS_KEYS = KEY, [OLD_KEY]

    def broken(*args, **kwargs):
        raise RuntimeError("storage failed")

    monkeypatch.setattr("webhooks.views.delivery_record", broken)
    factory = RequestFactory()
    requests_sent = [
        factory.get(f"/?wpf_action=add&%61ccess_key={q(KEY)}&contact_id=1&note={q(GUESS)}"),
        factory.post(
            f"/any/?note={q(OLD_KEY)}", data={"wpf_action": "add", "access_key": OLD_KEY, "contact_id": "1"}
        ),
        factory.get("/?wpf_action=add&contact_id=1", headers={"X-Fusion-Access-Key": KEY}),
        factory.get("/?wpf_action=add&contact_id=1", headers={"Authorization": f"Bearer {KEY}"}),
    ]
    reports = []
    for request in requests_sent:
        with pytest.raises(RuntimeError) as raised:
            ontraport_webhook(request)
        reporter = get_exception_reporter_class(request)(request, raised.type, raised.value, raised.tb)
        reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())
    text = "\n".join(reports)
    assert text.count("storage failed") >= 8  # the reports are real
    leaks = [
        (name, form)
        for name, secret in {"key": KEY, "previous key": OLD_KEY}.items()
        for form in secret_forms(secret)
        if form in text
    ]
    assert leaks == []
