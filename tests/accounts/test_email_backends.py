"""EMAIL_URL reaches a real backend through Django 6.1's MAILERS (the suite otherwise uses locmem)."""

import os
import subprocess
import sys
from pathlib import Path

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
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
    )
    files = list(outbox.iterdir())
    assert len(files) == 1
    message = files[0].read_text()
    assert "To: dana@example.com" in message
    assert "https://site.example/accounts/login/" in message
    assert "https://site.example/accounts/reset/" in message
