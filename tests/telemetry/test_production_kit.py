"""The production kit: static files served by the web process, gunicorn's settings file."""

import runpy
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_the_admins_static_files_are_served_by_the_site(client):
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)


def test_gunicorn_config_reads_the_environment_and_never_logs_query_strings(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    for log_format in ("plain", "json"):
        monkeypatch.setenv("LOG_FORMAT", log_format)
        config = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))

        assert config["bind"].endswith(":9123")
        assert config["workers"] == 3
        # %(U)s is the path without its query string (where a webhook's access key is); the request line
        # %(r)s and the query %(q)s would carry the key.
        assert "%(U)s" in config["access_log_format"]
        assert "%(r)s" not in config["access_log_format"]
        assert "%(q)s" not in config["access_log_format"]
