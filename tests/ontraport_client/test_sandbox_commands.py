"""The command line: ``python -m ontraport_client.sandbox`` (serve) and its ``ping`` command,
run as real subprocesses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import requests

from ontraport_client.testing import unused_port
from tests.support.paths import BASE_DIR


def sandbox_command(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ontraport_client.sandbox", *args],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class TestPing:
    def test_default_is_a_form_post_with_merge_fields_in_url_and_body(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping",
            http_recorder.url + "/hook/?wpf_action=add&access_key=K3Y&contact_id=[Contact ID]&email=[Email]",
            "--contact",
            "3",
            "--data",
            "first=[First Name]&last=[last name]&user=[Username]&level=[f1535]",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("HTTP 200 OK\n")
        assert '{"code": 0' in result.stdout
        [request] = http_recorder.requests
        assert (request.method, request.path) == ("POST", "/hook/")
        assert request.query == {
            "wpf_action": "add",
            "access_key": "K3Y",
            "contact_id": "3",
            "email": "sofia.martinez@example.org",
        }
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.form() == {"first": "Sofía", "last": "Martínez", "user": "sofia.m", "level": "3"}

    def test_values_are_url_encoded(self, sandbox, http_recorder):
        sandbox.add_contact({"id": 50, "email": "a+b&c=d@example.com", "firstname": "Zoë & Co"})

        result = sandbox_command(
            "ping",
            http_recorder.url + "/?email=[Email]",
            "--contact=50",
            "--data=name=[First Name]",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0, result.stderr
        [request] = http_recorder.requests
        assert request.query == {"email": "a+b&c=d@example.com"}
        assert request.form() == {"name": "Zoë & Co"}
        assert b"Zo%C3%AB%20%26%20Co" in request.body

    def test_empty_post_like_a_bare_ping(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping",
            http_recorder.url + "/?contact_id=[Contact ID]",
            "--contact",
            "10",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0, result.stderr
        [request] = http_recorder.requests
        assert (request.method, request.query, request.body) == ("POST", {"contact_id": "10"}, b"")

    def test_get_puts_the_data_in_the_query_string(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping",
            http_recorder.url + "/?a=1",
            "--contact",
            "2",
            "--method",
            "get",
            "--data",
            "contact_id=[Contact ID]&email=[Email]",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0, result.stderr
        [request] = http_recorder.requests
        assert request.method == "GET"
        assert request.query == {"a": "1", "contact_id": "2", "email": "liam.chen@example.com"}

    def test_post_json(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping",
            http_recorder.url + "/",
            "--contact",
            "7",
            "--method",
            "post-json",
            "--data",
            "contact_id=[Contact ID]&name=[First Name] [Last Name]",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0, result.stderr
        [request] = http_recorder.requests
        assert request.headers["content-type"] == "application/json"
        assert request.json() == {"contact_id": "7", "name": "Chloé Dubois"}

    def test_contact_without_email_gives_empty_values(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping",
            http_recorder.url + "/?email=[Email]&id=[Contact ID]",
            "--contact",
            "10",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0, result.stderr
        assert http_recorder.requests[0].query == {"email": "", "id": "10"}

    def test_unknown_merge_field_is_left_and_reported(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping",
            http_recorder.url + "/",
            "--contact",
            "1",
            "--data",
            "x=[Shoe Size]",
            "--sandbox",
            sandbox.control_url,
        )

        assert result.returncode == 0
        assert "unknown merge field [Shoe Size]" in result.stderr
        assert http_recorder.requests[0].form() == {"x": "[Shoe Size]"}

    def test_error_answer_exits_1_and_prints_it(self, sandbox, http_recorder):
        http_recorder.status = 403
        http_recorder.body = b'{"error": "invalid access key"}'

        result = sandbox_command(
            "ping", http_recorder.url + "/", "--contact", "1", "--sandbox", sandbox.control_url
        )

        assert result.returncode == 1
        assert result.stdout.startswith("HTTP 403")
        assert "invalid access key" in result.stdout

    def test_unknown_contact_exits_2_without_sending(self, sandbox, http_recorder):
        result = sandbox_command(
            "ping", http_recorder.url + "/", "--contact", "999", "--sandbox", sandbox.control_url
        )

        assert result.returncode == 2
        assert "no contact 999" in result.stderr
        assert http_recorder.requests == []

    def test_unreachable_sandbox_or_target_exits_2(self, sandbox, http_recorder):
        no_sandbox = sandbox_command(
            "ping",
            http_recorder.url + "/",
            "--contact",
            "1",
            "--sandbox",
            f"http://127.0.0.1:{unused_port()}",
        )
        no_target = sandbox_command(
            "ping", f"http://127.0.0.1:{unused_port()}/", "--contact", "1", "--sandbox", sandbox.control_url
        )

        assert (no_sandbox.returncode, no_target.returncode) == (2, 2)
        assert "cannot read from the sandbox" in no_sandbox.stderr
        assert "no answer from" in no_target.stderr


class TestServe:
    def start(self, *args: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "ontraport_client.sandbox", "--port", "0", *args],
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        banner = process.stdout.readline()
        assert banner.startswith("Ontraport sandbox: API http://127.0.0.1:"), banner + process.stderr.read()
        return process, banner

    def stop(self, process: subprocess.Popen[str]) -> tuple[str, str]:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        return out, err

    def test_serves_the_data_file_with_the_given_credentials_and_limit(self, tmp_path):
        seed = tmp_path / "seed.json"
        seed.write_text(json.dumps({"contacts": [{"id": "21", "email": "x@example.com"}]}))
        process, banner = self.start(
            "--data",
            str(seed),
            "--app-id",
            "a1",
            "--api-key",
            "secret-k",
            "--rate-limit",
            "5",
            "--window",
            "30",
            "--quiet",
        )
        try:
            url = banner.split()[3]
            response = requests.get(
                url + "Contact",
                params={"id": 21},
                headers={"Api-Appid": "a1", "Api-Key": "secret-k"},
                timeout=5,
            )
            assert response.json()["data"]["email"] == "x@example.com"
            assert response.headers["X-Rate-Limit-Limit"] == "5"
            assert "5 requests per 30s" in banner
            assert "secret-k" not in banner  # a custom key is not echoed
        finally:
            out, _ = self.stop(process)
        assert "stopped" in out

    def test_default_limit_is_ontraports_and_requests_are_logged(self):
        process, banner = self.start()
        try:
            url = banner.split()[3]
            response = requests.get(
                url + "Tags", headers={"Api-Appid": "sandbox-app", "Api-Key": "sandbox-key"}, timeout=5
            )
            assert response.headers["X-Rate-Limit-Limit"] == "180"
            assert "Api-Key sandbox-key" in banner  # the public default is shown, to copy into settings
        finally:
            _, err = self.stop(process)
        assert '"GET /1/Tags HTTP/1.1" 200' in err

    @pytest.mark.parametrize("data", ["missing.json", "{"])
    def test_bad_data_exits_2(self, tmp_path, data):
        path = tmp_path / "bad.json"
        if data == "{":
            path.write_text("{")
        result = sandbox_command("--port", "0", "--data", str(path if data == "{" else tmp_path / data))

        assert result.returncode == 2
        assert "cannot start the sandbox" in result.stderr

    def test_port_in_use_exits_2(self, sandbox_server):
        result = sandbox_command("--port", str(sandbox_server.port))

        assert result.returncode == 2
        assert "cannot start the sandbox" in result.stderr
