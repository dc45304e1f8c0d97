"""Settings for the test-suite: the real settings module, fed a test environment.

DATABASE_URL decides the database (SQLite by default; `make test` runs the suite again on PostgreSQL when
it names one). Tasks run inline (ImmediateBackend) unless a test uses the real worker.
"""

import os

# The suite and the processes it starts see only this environment, never a developer's .env (make run writes
# one with DEBUG=1, which would turn on the worker's autoreloader, among other things).
os.environ["FUSION_READ_DOTENV"] = "false"

os.environ.setdefault("FUSION_ACCESS_KEY", "test-access-key-0123456789abcdef")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("TASK_BACKEND", "immediate")
os.environ.setdefault("DATABASE_URL", "sqlite:///var/test.sqlite3")
# The sandbox fixture points the client at a local server; nothing in the tests may reach Ontraport.
os.environ.setdefault("ONTRAPORT_API_URL", "http://127.0.0.1:9/1/")
os.environ.setdefault("ONTRAPORT_APP_ID", "sandbox-app")
os.environ.setdefault("ONTRAPORT_API_KEY", "sandbox-key")
# Tests inject faults and check the durable retry; the client's own quick retry would hide them.
os.environ.setdefault("ONTRAPORT_CLIENT_ATTEMPTS", "1")
# Deliveries are taken as soon as they are ready; tests of coalescing set it themselves.
os.environ.setdefault("FUSION_COALESCE_SECONDS", "0")
os.environ.setdefault("FUSION_BURST_RATE", "0")
# Production's default mailer is SMTP on localhost; processes started by tests print mail instead.
os.environ.setdefault("EMAIL_URL", "consolemail://")
# Static files from the apps themselves (no collectstatic before the tests).
os.environ.setdefault("STATIC_MANIFEST", "false")

from fusion_site.settings import *  # noqa: F403

# Each pytest run gets its own test database (name from TEST_DB_NAME, else the run's process id), so two
# runs on one machine never drop each other's database. Processes a test starts (a worker, a server) are
# given the test database's name explicitly. On SQLite it is a file, not the in-memory default, so those
# processes can share it.
_test_db = os.environ.get("TEST_DB_NAME") or f"test_fusion_{os.getpid()}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    os.makedirs(BASE_DIR / "var", exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"{_test_db}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": _test_db}  # noqa: F405
