"""`manage.py check --deploy` is clean with production settings, and the admin is for staff only."""

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from tests.support.factories import UserFactory
from tests.support.paths import BASE_DIR

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "fusion_site.settings",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "members.example.com",
    "DATABASE_URL": "postgres://fusion@db.example.com:5432/fusion",
}


def manage_check(tmp_path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # every setting that matters is given here: a .env cannot change it
        **PRODUCTION_ENV,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FUSION_ACCESS_KEY": secrets.token_urlsafe(24),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_still_catches_a_debug_site(tmp_path):
    result = manage_check(tmp_path, DEBUG="true")
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr  # DEBUG on in deployment


def test_the_site_refuses_to_start_without_a_strong_access_key(tmp_path):
    result = manage_check(tmp_path, FUSION_ACCESS_KEY="short")
    assert result.returncode != 0
    assert "FUSION_ACCESS_KEY" in result.stderr


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_the_admin_is_staff_only(who):
    client = Client()
    if who == "member":
        client.force_login(UserFactory(username="member", email="m@example.com"))
    for path in ("/admin/", "/admin/webhooks/delivery/", "/admin/accounts/user/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
