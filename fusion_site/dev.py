"""`make run`: set up a development site on first run, then run it with its worker (and the sandbox).

- writes `.env` with a random access key (192 bits) and a secret key, if there is no `.env` yet;
- with no Ontraport credentials, points the site at the local sandbox and runs it with its demo contacts,
  its account kept in var/sandbox-state.json across restarts (delete the file, and db.sqlite3, to start over);
- migrates, creates an `admin` superuser whose password is kept in `.env` (never printed);
- prints the webhook URLs and a `curl` to try, then runs every process under honcho (Ctrl-C stops all,
  the worker cleanly: its heartbeat is recorded as stopped);
- the worker runs under fusion_site.dev_supervisor: when it exits it is started again, and the log says
  which process died and why, instead of honcho stopping the whole site.
"""

import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = BASE_DIR / ".env"
SANDBOX_PORT = 8765
SANDBOX_CREDENTIALS = {
    "ONTRAPORT_API_URL": f"http://127.0.0.1:{SANDBOX_PORT}/1/",
    "ONTRAPORT_APP_ID": "sandbox-app",
    "ONTRAPORT_API_KEY": "sandbox-key",
}


# Set for every process make run starts.
LAUNCHER_ENV = {
    "PYTHONUNBUFFERED": "1",
    # The worker is started here, beside the site: "no worker is running" (fusion.W001) was printed by
    # each command while it started. Its supervisor reports a worker that dies instead.
    "FUSION_WORKER_CHECK": "false",
}
# The sandbox's account, kept across restarts: a reseeded sandbox hands out the ids of contacts the site's
# users are still linked to, and a new contact's `add` then rewrites another person's user.
SANDBOX_STATE = BASE_DIR / "var" / "sandbox-state.json"


def procfile_lines(
    *,
    python: str,
    use_sandbox: bool,
    web_port: int = 8000,
    sandbox_port: int = SANDBOX_PORT,
    sandbox_state: Path = SANDBOX_STATE,
) -> list[str]:
    """make run's processes, one Procfile line each (honcho runs them from the project directory)."""
    lines = [
        f"web: {python} manage.py runserver 127.0.0.1:{web_port} --noreload",
        # Under its supervisor: restarted when it exits, instead of honcho stopping the whole site. No
        # autoreload (like runserver here): the reloader's parent would be what the supervisor watches and
        # signals, and its child, the worker itself, is left behind when the parent stops.
        f"worker: {python} -m fusion_site.dev_supervisor worker -- "
        f"{python} manage.py fusion_worker --interval 0.2 --no-reload",
    ]
    if use_sandbox:
        lines.append(
            f"sandbox: {python} -m ontraport_client.sandbox --port {sandbox_port} --data demo "
            f"--state {shlex.quote(str(sandbox_state))}"
        )
    return lines


def env_file_ensure() -> None:
    if ENV_FILE.exists():
        return
    lines = [
        "# Written by `make run` on first run. Keep it private: it holds the webhook access key.",
        "DEBUG=true",
        f"SECRET_KEY={secrets.token_urlsafe(40)}",
        f"FUSION_ACCESS_KEY={secrets.token_urlsafe(24)}",
        f"DEV_ADMIN_PASSWORD={secrets.token_urlsafe(12)}",
        "# The local sandbox (make run starts it). For your Ontraport account instead: set ONTRAPORT_APP_ID",
        "# and ONTRAPORT_API_KEY to yours and delete the ONTRAPORT_API_URL line.",
        # The sandbox's credentials, so commands run by hand (manage.py ontraport_import ...) reach it too.
        *(f"{key}={value}" for key, value in SANDBOX_CREDENTIALS.items()),
    ]
    ENV_FILE.write_text("\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE.name} with a new access key.")


def env_file_values() -> dict[str, str]:
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def main() -> None:
    env_file_ensure()
    file_values = env_file_values()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fusion_site.settings", **LAUNCHER_ENV}
    app_id = env.get("ONTRAPORT_APP_ID") or file_values.get("ONTRAPORT_APP_ID")
    use_sandbox = not app_id or app_id == SANDBOX_CREDENTIALS["ONTRAPORT_APP_ID"]
    if use_sandbox:
        env.update(SANDBOX_CREDENTIALS)
    python = sys.executable
    manage = [python, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    admin_password = env.get("DEV_ADMIN_PASSWORD") or file_values.get("DEV_ADMIN_PASSWORD", "")
    if admin_password:
        subprocess.run(
            admin_ensure_argv(manage),
            env={**env, "DEV_ADMIN_PASSWORD": admin_password},
            check=True,
        )
    if use_sandbox and not SANDBOX_STATE.exists():
        # A fresh sandbox gives again the ids of contacts made in an earlier demo: say so before it does.
        subprocess.run([*manage, "shell", "-c", _WARN_LINKED_BEYOND_DEMO], env=env, check=False)
    procfile = BASE_DIR / "var" / "Procfile.dev"
    procfile.parent.mkdir(exist_ok=True)
    processes = procfile_lines(python=python, use_sandbox=use_sandbox)
    procfile.write_text("\n".join(processes) + "\n")

    print(
        "\nfusion-site is starting on http://127.0.0.1:8000/ (admin: /admin/, user 'admin', "
        "password in .env as DEV_ADMIN_PASSWORD)"
    )
    if use_sandbox:
        print(f"No Ontraport credentials: using the local sandbox on port {SANDBOX_PORT} with demo contacts.")
    print("\nWebhook URLs for Ontraport:")
    subprocess.run([*manage, "webhook_urls"], env=env, check=False)
    key = env.get("FUSION_ACCESS_KEY") or file_values.get("FUSION_ACCESS_KEY", "")
    print("\nTry it (creates the user for sandbox contact 1, with the role 'subscriber'):")
    print(f'  curl "http://127.0.0.1:8000/?wpf_action=add&access_key={key}&contact_id=1"\n')
    os.chdir(BASE_DIR)
    os.execvpe(python, [python, "-m", "honcho", "-f", str(procfile), "start"], env)


def admin_ensure_argv(manage: list[str]) -> list[str]:
    """The command that creates the `admin` superuser if there is none. `--no-imports`: Django's shell
    would otherwise print its "N objects imported automatically" banner into make run's output."""
    return [*manage, "shell", "--no-imports", "-c", _ENSURE_ADMIN]


_ENSURE_ADMIN = """
import os
from accounts.models import User
if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser("admin", "admin@localhost", os.environ["DEV_ADMIN_PASSWORD"])
"""

_WARN_LINKED_BEYOND_DEMO = """
from accounts.models import User
from ontraport_client.sandbox.seed import load_seed
demo_ids = [int(contact["id"]) for contact in load_seed("demo").contacts if contact.get("id")]
linked = User.objects.filter(contact_id__gt=max(demo_ids, default=0)).count()
if linked:
    print(
        f"Warning: var/sandbox-state.json is missing, but {linked} user(s) here are linked to contacts "
        "made in an earlier demo: the fresh sandbox will give their ids to other contacts, and webhooks "
        "for those would change these users. To start the demo over, stop and delete the site's database "
        "(db.sqlite3) as well."
    )
"""

if __name__ == "__main__":
    main()
