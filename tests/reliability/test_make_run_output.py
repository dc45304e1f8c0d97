"""What `make run` prints while it sets the site up: its own lines, not Django's shell banner."""

import subprocess
import sys

from fusion_site import dev


def test_creating_the_admin_prints_nothing(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "fusion_site.settings",
        "DEBUG": "true",  # as make run's .env has it
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "SECRET_KEY": "test-only-secret-key-0123456789",
        "FUSION_ACCESS_KEY": "test-only-access-key-0123456789",
        "DEV_ADMIN_PASSWORD": "correct horse battery staple",
    }
    manage = [sys.executable, str(dev.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=tmp_path)

    made = subprocess.run(dev.admin_ensure_argv(manage), env=env, check=True, capture_output=True, text=True)

    assert "imported automatically" not in made.stdout + made.stderr  # Django's shell banner, once
    assert made.stdout == ""
    check = "from accounts.models import User; print(User.objects.get(username='admin').is_superuser)"
    found = subprocess.run(
        [*manage, "shell", "--no-imports", "-c", check], env=env, check=True, capture_output=True, text=True
    )
    assert found.stdout.strip() == "True"
