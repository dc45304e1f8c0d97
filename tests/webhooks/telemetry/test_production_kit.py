"""The production kit: static files served by the web process, gunicorn's settings file."""

import runpy

from tests.support.paths import BASE_DIR


def test_the_admins_static_files_are_served_by_the_site(client):
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)


def test_gunicorn_config_reads_the_environment_and_masks_its_logs(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    for log_format in ("plain", "json"):
        monkeypatch.setenv("LOG_FORMAT", log_format)
        config = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))

        assert config["bind"].endswith(":9123")
        assert config["workers"] == 3
        # The access line may carry the request line and the query string: gunicorn's logger masks every
        # atom (tests/reliability/test_one_edge.py reads the real output).
        assert config["logger_class"] == "fusion_site.log_gunicorn.MaskedLogger"
        assert "%(a)s" in config["access_log_format"]
