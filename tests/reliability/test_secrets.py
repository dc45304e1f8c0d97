"""The access key, the API key and passwords never reach logs, stored deliveries, e-mails, admin pages or
error reports; keys are compared in constant time, rotate without downtime, and wrong ones are throttled
without slowing the right ones."""

import base64
import json
import logging
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import get_exception_reporter_class

from tests.support.factories import FieldMappingFactory, SuperuserFactory
from tests.support.webhooks import ACCESS_KEY
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()

OLD_KEY = "the-previous-key-0123456789abcdef"
# Built at run time: error reports quote source lines, and this file's must not count as a leak.
CHOSEN_PASSWORD = "-".join(["Chosen", "Pass", "Phrase", "9876"])


def error_report_texts(monkeypatch, url: str, **post: object) -> str:
    """Django's error report (text and HTML, as mailed to ADMINS) for a webhook request that raised."""

    def broken(*args, **kwargs):
        raise RuntimeError("storage failed")

    monkeypatch.setattr("webhooks.views.delivery_record", broken)
    factory = RequestFactory()
    request = factory.post(url, data=post) if post else factory.get(url)
    from webhooks.views import ontraport_webhook

    try:
        ontraport_webhook(request)
    except RuntimeError:
        exc_info = sys.exc_info()
    else:
        raise AssertionError("the view should have raised")
    reporter = get_exception_reporter_class(request)(request, *exc_info)
    monkeypatch.undo()
    return reporter.get_traceback_text() + reporter.get_traceback_html()


def test_no_secret_reaches_logs_deliveries_mail_admin_or_error_reports(
    site_sandbox, client, settings, caplog, mailoutbox, monkeypatch, figures
):
    caplog.set_level(logging.DEBUG)
    settings.FUSION_PREVIOUS_ACCESS_KEYS = [OLD_KEY]
    settings.FUSION_RETURN_PASSWORD_FIELD = "f1536"
    FieldMappingFactory(ontraport_field="company", target="user", attribute="password")
    site_sandbox.add_contact({**site_sandbox.get_contact(8), "company": CHOSEN_PASSWORD})
    site_sandbox.add_contact({**site_sandbox.get_contact(1), "company": ""})  # 1 and 2: generated passwords
    near_miss = ACCESS_KEY[:-1] + "X"

    answers = [
        client.get(
            f"/?wpf_action=add&access_key={ACCESS_KEY}&contact_id=1&send_notification=true"
        ).status_code,
        client.post("/", data={"wpf_action": "add", "access_key": OLD_KEY, "contact_id": 2}).status_code,
        client.post(
            "/any/page/",
            data={"wpf_action": "update", "access_key": ACCESS_KEY, "contact_id": 1},
            content_type="application/json",
        ).status_code,
        client.get(f"/?wpf_action=add&access_key={ACCESS_KEY}&contact_id=8").status_code,
        client.get(f"/?wpf_action=update_tags&access_key%5Fkey={ACCESS_KEY}&contact_id=3").status_code,
        client.get(
            f"/webhooks/ontraport/?wpf_action=update_tags&access_key={ACCESS_KEY}&contact_id=3"
        ).status_code,
        client.get(f"/?wpf_action=test&access_key={ACCESS_KEY}").status_code,
        client.get(f"/?wpf_action=add&access_key={ACCESS_KEY}&contact_id=abc").status_code,
        client.get(f"/?wpf_action=frobnicate&access_key={OLD_KEY}&contact_id=1").status_code,
        client.get(f"/?wpf_action=add&access_key={near_miss}&contact_id=1").status_code,
        client.get(f"/?wpf_action=add&access_key={ACCESS_KEY}&access_key={OLD_KEY}&contact_id=1").status_code,
        client.get(f"/?wpf_action=add&access_key={ACCESS_KEY}&contact_id=424242").status_code,
    ]
    assert answers == [202, 202, 202, 202, 403, 202, 200, 400, 400, 403, 403, 202]
    returned = [site_sandbox.get_contact(n)["f1536"] for n in (1, 2)]
    assert all(returned) and len(mailoutbox) == 1
    superuser_password = "Superuser-Pass-5555"
    root = SuperuserFactory(username="root", email="root@example.com", raw_password=superuser_password)

    texts = {"logs": caplog.text}
    texts["deliveries"] = json.dumps(
        [
            [d.path, d.message, d.reason, d.options, d.method, d.claimed_by, d.source_ip]
            for d in Delivery.objects.all()
        ]
    )
    texts["mail"] = "".join(
        m.subject + m.body + "".join(str(a[0]) for a in m.alternatives) for m in mailoutbox
    )
    admin = Client()
    admin.force_login(root)
    pages = [
        "/admin/",
        reverse("admin:webhooks_delivery_changelist"),
        reverse("admin:accounts_user_changelist"),
    ]
    pages += [reverse("admin:webhooks_delivery_change", args=[d.pk]) for d in Delivery.objects.all()]
    pages += [reverse("admin:accounts_user_change", args=[u.pk]) for u in User.objects.all()]
    pages += [reverse("admin:accounts_fieldmapping_changelist")]
    texts["admin"] = "".join(admin.get(page).content.decode() for page in pages)
    texts["error report (GET)"] = error_report_texts(
        monkeypatch, f"/?wpf_action=add&access_key={ACCESS_KEY}&contact_id=1"
    )
    texts["error report (POST)"] = error_report_texts(
        monkeypatch, "/", wpf_action="add", access_key=ACCESS_KEY, contact_id="1"
    )
    assert "storage failed" in texts["error report (GET)"]  # the report is real

    secrets = {
        "access key": ACCESS_KEY,
        "previous access key": OLD_KEY,
        "near-miss key": near_miss,
        "API key": site_sandbox.api_key,
        "chosen password": CHOSEN_PASSWORD,
        "superuser password": superuser_password,
    }
    secrets.update({f"returned password {n}": value for n, value in enumerate(returned)})
    leaks = [
        (name, where) for name, secret in secrets.items() for where, text in texts.items() if secret in text
    ]
    assert leaks == []
    figures.record("secrets scenario", sent=len(answers))


def test_keys_are_compared_in_constant_time_every_key_every_time(settings, monkeypatch):
    from webhooks import access

    settings.FUSION_ACCESS_KEY = ACCESS_KEY
    settings.FUSION_PREVIOUS_ACCESS_KEYS = [OLD_KEY, "another-old-key-0123456789"]
    compared: list[tuple[str, str]] = []
    real = access.constant_time_compare

    def recording(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(access, "constant_time_compare", recording)
    for candidate in (ACCESS_KEY, OLD_KEY, "wrong", ""):
        compared.clear()
        access.access_key_valid(candidate)
        # No early exit: a right key costs exactly what a wrong one does.
        assert [b for _, b in compared] == [ACCESS_KEY, OLD_KEY, "another-old-key-0123456789"]


def test_generated_access_keys_have_at_least_128_bits(tmp_path, monkeypatch):
    from fusion_site import dev

    monkeypatch.setattr(dev, "ENV_FILE", tmp_path / ".env")
    dev.env_file_ensure()
    key = dev.env_file_values()["FUSION_ACCESS_KEY"]
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) * 8 >= 128
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0  # readable by its owner only


def test_a_key_rotation_without_downtime(site_sandbox, client, settings):
    new_key, old_key = "brand-new-key-0123456789abcdef", OLD_KEY
    url = "/?wpf_action=update_tags&contact_id=1&access_key={}"
    settings.FUSION_ACCESS_KEY, settings.FUSION_PREVIOUS_ACCESS_KEYS = old_key, []
    assert client.get(url.format(old_key)).status_code == 202
    # Step 1: the new key is current, the old one still accepted while Ontraport's URLs are updated.
    settings.FUSION_ACCESS_KEY, settings.FUSION_PREVIOUS_ACCESS_KEYS = new_key, [old_key]
    assert [client.get(url.format(k)).status_code for k in (old_key, new_key)] == [202, 202]
    # Step 2: the old key is removed and refused from then on.
    settings.FUSION_PREVIOUS_ACCESS_KEYS = []
    assert [client.get(url.format(k)).status_code for k in (old_key, new_key)] == [403, 202]
    assert Delivery.objects.count() == 4


def test_a_throttled_address_never_slows_other_senders_or_the_right_key(site_sandbox, settings, monkeypatch):
    settings.FUSION_BAD_KEY_LIMIT = 2
    cache.clear()
    attacker, ontraport = Client(REMOTE_ADDR="203.0.113.9"), Client(REMOTE_ADDR="198.51.100.7")
    bad = [attacker.get("/?wpf_action=add&contact_id=1&access_key=guess").status_code for _ in range(4)]
    assert bad == [403, 403, 429, 429]
    assert ontraport.get("/?wpf_action=add&contact_id=1&access_key=guess").status_code == 403  # its own count

    def counter_unavailable(*args, **kwargs):
        raise AssertionError("the right key must not touch the throttle's counter")

    # Wherever it counts (the database by default, a shared cache when one is set).
    monkeypatch.setattr("webhooks.services.throttle._count_in_database", counter_unavailable)
    monkeypatch.setattr("webhooks.services.throttle._count_in_cache", counter_unavailable)
    good = f"/?wpf_action=add&contact_id=1&access_key={ACCESS_KEY}"
    assert ontraport.get(good).status_code == 202
    assert attacker.get(good).status_code == 202
    assert User.objects.filter(contact_id=1).count() == 1
