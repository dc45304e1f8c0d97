"""fusion_site.settings reads each variable through the right helper: the settings module is run afresh
under a changed environment (the suite's own settings stay as they are)."""

import datetime
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]


def settings_under(monkeypatch: pytest.MonkeyPatch, **environment: str | None) -> dict[str, Any]:
    for name, value in environment.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "fusion_site" / "settings.py"))


def test_the_sweep_is_on_every_24h_with_ontraport_credentials_and_off_without(monkeypatch):
    on = settings_under(monkeypatch, FUSION_RESYNC_EVERY=None, ONTRAPORT_APP_ID="app", ONTRAPORT_API_KEY="k")
    assert on["FUSION_RESYNC_EVERY"] == datetime.timedelta(hours=24)
    off = settings_under(monkeypatch, ONTRAPORT_API_KEY="")
    assert off["FUSION_RESYNC_EVERY"] == datetime.timedelta(0)
    chosen = settings_under(monkeypatch, FUSION_RESYNC_EVERY="90m")
    assert chosen["FUSION_RESYNC_EVERY"] == datetime.timedelta(minutes=90)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("FUSION_USERNAME_FORMAT", "Email", "email, firstname_lastname, firstname_random"),
        ("FUSION_DELETED_CONTACT", "delete", "keep, deactivate"),
        ("TASK_BACKEND", "celery", "database, immediate"),
        ("LOG_FORMAT", "JSON", "plain, json"),
        ("LOG_LEVEL", "info", "CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NOTSET"),
    ],
)
def test_each_choice_is_checked_when_the_settings_load(monkeypatch, name, value, allowed):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_under(monkeypatch, **{name: value})
    assert str(refused.value) == f"{name}={value!r} is not allowed: use one of {allowed}."


def test_email_url_becomes_the_default_mailer(monkeypatch):
    tls = settings_under(monkeypatch, EMAIL_URL="smtp+tls://u:p@mail.example:587")["MAILERS"]["default"]
    assert tls["OPTIONS"]["use_tls"] is True and tls["OPTIONS"]["host"] == "mail.example"

    production = settings_under(monkeypatch, EMAIL_URL=None, DEBUG="false")["MAILERS"]["default"]
    assert production["OPTIONS"] == {
        "host": "localhost",
        "port": 25,
        "use_tls": False,
        "use_ssl": False,
        "timeout": 30,
    }
    development = settings_under(monkeypatch, DEBUG="true")["MAILERS"]["default"]
    assert development == {"BACKEND": "django.core.mail.backends.console.EmailBackend", "OPTIONS": {}}


def test_a_malformed_resync_interval_stops_the_site_at_start_up():
    """Was checked by the adoption app once Django started; now the settings refuse it as they load."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "FUSION_RESYNC_EVERY": "daily"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, cwd=BASE_DIR, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: FUSION_RESYNC_EVERY='daily' is not a duration: give " in done.stderr
