"""EMAIL_URL reaches a real backend through Django 6.1's MAILERS (the suite otherwise uses locmem)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import BASE_DIR

SEND_WELCOME = """
from accounts.models import User
from accounts.services.welcome import welcome_email_send
welcome_email_send(user=User(pk=7, username="dana", email="dana@example.com", first_name="Dana"))
"""


def test_filemail_url_writes_the_welcome_email_to_files(tmp_path: Path):
    outbox = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # django-environ drops one leading slash: four make an absolute path.
        "EMAIL_URL": f"filemail:///{outbox}",
        "SITE_URL": "https://site.example",
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEND_WELCOME],
        env=env,
        check=True,
        cwd=BASE_DIR,
        capture_output=True,
    )
    files = list(outbox.iterdir())
    assert len(files) == 1
    message = files[0].read_text()
    assert "To: dana@example.com" in message
    assert "https://site.example/accounts/login/" in message
    assert "https://site.example/accounts/reset/" in message


PRINT_MAILER = "import json; from django.conf import settings; print(json.dumps(settings.MAILERS['default']))"


def mailer_for(email_url: str) -> dict:
    import json

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "EMAIL_URL": email_url}
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_MAILER],
        env=env,
        check=True,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_smtp_urls_carry_tls_and_ssl_either_way():
    assert mailer_for("smtp+tls://u:p@mail.example:587")["OPTIONS"]["use_tls"] is True
    assert mailer_for("smtp://u:p@mail.example:587/?tls=True")["OPTIONS"]["use_tls"] is True
    ssl = mailer_for("smtp+ssl://u:p@mail.example:465")["OPTIONS"]
    assert (ssl["use_ssl"], ssl["use_tls"], ssl["host"], ssl["port"]) == (True, False, "mail.example", 465)
    assert mailer_for("smtp://mail.example:25")["OPTIONS"]["use_tls"] is False
