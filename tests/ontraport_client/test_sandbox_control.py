"""The sandbox's control API (/_sandbox/) through SandboxControl, and SandboxServer's lifecycle."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from ontraport_client import OntraportClient, RetryPolicy, TransportError
from ontraport_client.sandbox import SandboxControl, SandboxControlError, SandboxServer
from tests.support.waiting import wait_until


def api_get(sandbox, path, **params) -> requests.Response:
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}
    return requests.get(sandbox.url + path, params=params, headers=headers, timeout=5)


class TestStats:
    def test_counts_api_requests_by_endpoint_and_status(self, sandbox):
        api_get(sandbox, "Contact", id=1)
        api_get(sandbox, "Contact", id=999)
        api_get(sandbox, "Tags")
        refused = requests.get(sandbox.url + "Tags", timeout=5)  # no credentials: still counted

        stats = sandbox.stats()
        assert {key: value for key, value in stats.items() if key != "bytes_by_endpoint"} == {
            "requests": 4,
            "by_endpoint": {"GET /Contact": 2, "GET /Tags": 2},
            "by_status": {"200": 2, "404": 1, "401": 1},
            "rate_limited": 0,
            "faults_applied": 0,
        }
        # The bytes of every answer's body, by endpoint (the benches' bytes per contact): the same tag
        # list again, and the 401's text.
        tags = api_get(sandbox, "Tags")
        assert stats["bytes_by_endpoint"]["GET /Tags"] == len(tags.content) + len(refused.content)

    def test_lists_each_api_request_with_its_arrival_time_oldest_first(self, sandbox):
        before = time.time()
        api_get(sandbox, "Contact", id=1)
        api_get(sandbox, "Tags")
        sandbox.health()  # a control request: not an API call

        calls = sandbox.calls()
        assert [call["endpoint"] for call in calls] == ["GET /Contact", "GET /Tags"]
        assert before <= calls[0]["at"] <= calls[1]["at"] <= time.time()
        sandbox.reset()
        assert sandbox.calls() == []

    def test_control_requests_are_not_counted(self, sandbox):
        sandbox.health()
        sandbox.get_contact(1)
        sandbox.stats()

        assert sandbox.stats()["requests"] == 0

    def test_reset_clears_them(self, sandbox):
        api_get(sandbox, "Tags")

        sandbox.reset()

        assert sandbox.stats()["requests"] == 0


class TestContacts:
    def test_add_assigns_the_next_id_and_answers_the_stored_contact(self, sandbox):
        created = sandbox.add_contact({"email": "new@example.com", "firstname": "New", "f1535": 3})

        assert created["id"] == "13"
        assert created["f1535"] == "3"
        assert created["contact_cat"] == ""
        assert created["lastname"] is None
        assert sandbox.get_contact(13) == created

    def test_add_with_an_id_replaces(self, sandbox):
        sandbox.add_contact({"id": "3", "firstname": "Replaced", "contact_cat": "*/*9*/*"})

        stored = sandbox.get_contact(3)
        assert stored["firstname"] == "Replaced"
        assert stored["email"] is None  # a replacement, not a merge
        assert stored["contact_cat"] == "*/*9*/*"

    def test_unknown_fields_are_kept_when_seeding(self, sandbox):
        created = sandbox.add_contact({"f9999": "custom"})

        assert created["f9999"] == "custom"

    def test_bulk_add_of_10000_contacts(self, sandbox):
        contacts = [{"email": f"user{n}@example.com", "contact_cat": "*/*1*/*"} for n in range(10_000)]

        ids = sandbox.add_contacts(contacts)

        assert ids == list(range(13, 10_013))
        assert sandbox.health()["contacts"] == 10_012
        assert sandbox.get_contact(10_012)["email"] == "user9999@example.com"

    def test_delete(self, sandbox):
        assert sandbox.delete_contact(4) is True
        assert sandbox.get_contact(4) is None
        assert sandbox.delete_contact(4) is False
        assert api_get(sandbox, "Contact", id=4).status_code == 404

    def test_get_missing_gives_none(self, sandbox):
        assert sandbox.get_contact(31337) is None

    @pytest.mark.parametrize("body", ['"text"', '{"firstname": {"nested": 1}}', "[1]", '{"id": "x"}'])
    def test_bad_contacts_are_refused_with_400(self, sandbox, body):
        response = requests.post(sandbox.control_url + "contacts", data=body, timeout=5)

        assert response.status_code == 400
        assert "error" in response.json()

    def test_fields_and_tags(self, sandbox):
        assert sandbox.fields()["f1534"]["alias"] == "Username"
        assert sandbox.add_tag("Partners") == {"tag_id": "9", "tag_name": "Partners", "object_type_id": "0"}
        assert sandbox.add_tag("Staff", tag_id=50) == {
            "tag_id": "50",
            "tag_name": "Staff",
            "object_type_id": "0",
        }
        with pytest.raises(SandboxControlError, match="already exists"):
            sandbox.add_tag("Partners")


class TestFaults:
    def test_status_fault_applies_to_the_next_n_requests(self, sandbox):
        sandbox.fault(status=500, count=2)

        statuses = [api_get(sandbox, "Contact", id=1).status_code for _ in range(3)]

        assert statuses == [500, 500, 200]
        assert sandbox.stats()["faults_applied"] == 2

    def test_fault_for_one_endpoint_only(self, sandbox):
        sandbox.fault(status=503, endpoint="GET /Tags")

        assert api_get(sandbox, "Contact", id=1).status_code == 200
        assert api_get(sandbox, "Tags").status_code == 503
        assert api_get(sandbox, "Tags").status_code == 200

    def test_faults_queue_in_order(self, sandbox):
        sandbox.fault(status=502)
        pending = sandbox.fault(html=True)

        assert [fault["status"] for fault in pending] == [502, None]
        first, second = api_get(sandbox, "Tags"), api_get(sandbox, "Tags")
        assert first.status_code == 502
        assert (second.status_code, second.headers["Content-Type"]) == (200, "text/html; charset=utf-8")

    def test_malformed_body(self, sandbox):
        response = api_get(sandbox, "Contacts")

        sandbox.fault(malformed=True)
        broken = api_get(sandbox, "Contacts")

        assert response.json()["code"] == 0
        with pytest.raises(ValueError):
            json.loads(broken.text)

    def test_delay_then_normal_answer(self, sandbox):
        sandbox.fault(delay_ms=150)

        response = api_get(sandbox, "Contact", id=2)

        assert response.json()["data"]["firstname"] == "Liam"
        assert response.elapsed.total_seconds() >= 0.15

    def test_faults_do_not_apply_to_unauthenticated_requests(self, sandbox):
        sandbox.fault(status=500)

        assert requests.get(sandbox.url + "Tags", timeout=5).status_code == 401
        assert api_get(sandbox, "Tags").status_code == 500

    def test_pending_and_clear(self, sandbox):
        sandbox.fault(status=500, count=3)
        assert sandbox.pending_faults()[0]["remaining"] == 3

        sandbox.clear_faults()

        assert sandbox.pending_faults() == []
        assert api_get(sandbox, "Tags").status_code == 200

    @pytest.mark.parametrize(
        "spec",
        [{}, {"status": 99}, {"status": 500, "count": 0}, {"delay_ms": -5}, {"status": 500, "colour": "red"}],
    )
    def test_nonsense_faults_are_refused(self, sandbox, spec):
        response = requests.post(sandbox.control_url + "faults", json=spec, timeout=5)

        assert response.status_code == 400

    def test_reset_clears_faults(self, sandbox):
        sandbox.fault(status=500)

        sandbox.reset()

        assert api_get(sandbox, "Tags").status_code == 200


class TestReset:
    def test_back_to_the_seed_data(self, sandbox):
        sandbox.delete_contact(1)
        sandbox.add_contact({"firstname": "Extra"})

        health = sandbox.reset()

        assert health["contacts"] == 12
        assert sandbox.get_contact(1)["firstname"] == "Dana"
        assert sandbox.get_contact(13) is None

    def test_empty_and_inline_data(self, sandbox):
        assert sandbox.reset(data="empty")["contacts"] == 0

        health = sandbox.reset(
            data={
                "contacts": [{"id": "5", "email": "five@example.com", "f1": "x"}],
                "tags": [{"tag_id": "3", "tag_name": "Three"}],
                "fields": {"f1": {"alias": "One", "type": "text"}},
            }
        )

        assert (health["contacts"], health["tags"]) == (1, 1)
        assert sandbox.fields()["f1"]["alias"] == "One"
        assert sandbox.fields()["email"]["alias"] == "Email"  # standard fields stay
        assert sandbox.get_contact(5)["f1"] == "x"

    def test_limits_can_be_changed(self, sandbox):
        health = sandbox.reset(rate_limit=10, window=5)

        assert (health["rate_limit"], health["window"]) == (10, 5)
        assert api_get(sandbox, "Tags").headers["X-Rate-Limit-Limit"] == "10"

    @pytest.mark.parametrize(
        "body",
        [
            {"data": "/etc/passwd"},  # no file paths over HTTP
            {"data": 5},
            {"rate_limit": "many"},
            {"rate_limit": -1},
            {"window": 0},
            {"colour": "red"},
            {"data": {"contacts": "nope"}},
        ],
    )
    def test_nonsense_is_refused_and_changes_nothing(self, sandbox, body):
        response = requests.post(sandbox.control_url + "reset", json=body, timeout=5)

        assert response.status_code == 400
        assert sandbox.health()["contacts"] == 12
        assert sandbox.health()["rate_limit"] == 0

    def test_unknown_control_endpoint(self, sandbox):
        response = requests.get(sandbox.control_url + "nothing", timeout=5)

        assert response.status_code == 404


class TestSandboxControlClient:
    def test_control_url_suffix_is_optional(self, sandbox_server):
        bare = SandboxControl(sandbox_server.control_url.removesuffix("/_sandbox/"))

        assert bare.control_url == sandbox_server.control_url
        assert bare.health()["ok"] is True

    def test_errors_raise(self, sandbox):
        with pytest.raises(SandboxControlError, match="HTTP 400"):
            sandbox.reset(data="nowhere")


class TestServerLifecycle:
    def test_context_manager_serves_then_stops(self):
        with SandboxServer(data="empty") as server:
            client = OntraportClient(
                server.app_id, server.api_key, server.url, retry=RetryPolicy(max_attempts=1)
            )
            assert client.list_tags() == []
            assert server.url.endswith("/1/")
            assert server.control_url.endswith("/_sandbox/")
            url = server.url

        stopped = OntraportClient("sandbox-app", "sandbox-key", url, retry=RetryPolicy(max_attempts=1))
        with pytest.raises(TransportError):
            stopped.list_tags()
        # the kept-alive connection of the first client was dropped too
        with pytest.raises(TransportError):
            client.list_tags()

    def test_custom_credentials_and_seed_file(self, tmp_path):
        seed = tmp_path / "seed.json"
        seed.write_text(json.dumps({"contacts": [{"id": 40, "email": "forty@example.com"}]}))

        with SandboxServer(data=str(seed), app_id="my-app", api_key="my-key") as server:
            assert (
                OntraportClient("my-app", "my-key", server.url).get_contact(40).email == "forty@example.com"
            )

    def test_url_before_start_is_an_error(self):
        server = SandboxServer(data="empty")

        with pytest.raises(RuntimeError, match="not started"):
            _ = server.url
        server.stop()  # stopping a server that never started is harmless

    def test_bad_seed_data_is_refused_at_construction(self):
        with pytest.raises(ValueError, match="tag_name"):
            SandboxServer(data={"tags": [{"tag_id": "1"}]})

    def test_daemon_thread(self):
        with SandboxServer(data="empty") as server:
            threads = [t for t in threading.enumerate() if t.name == "ontraport-sandbox"]
            assert threads
            assert all(t.daemon for t in threads)
            assert server.control().health()["ok"] is True


def test_an_answer_still_delayed_at_a_reset_does_not_count_after_it(sandbox):
    import threading

    import requests

    sandbox.fault(delay_ms=400, count=1)
    answered = []
    thread = threading.Thread(
        target=lambda: answered.append(
            requests.get(
                sandbox.url + "Contact",
                params={"id": 1},
                headers={"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key},
                timeout=5,
            ).status_code
        )
    )
    thread.start()
    # Until the request has arrived (it is then held by the delay).
    wait_until(lambda: sandbox.stats()["requests"], timeout=10, every=0.01, what="the request")
    sandbox.reset()
    thread.join(timeout=5)
    assert answered == [200]
    assert sandbox.stats()["by_status"] == {}


class TestMerge:
    """Ontraport's duplicate merge: the survivor keeps its values, fills its empty fields, takes both
    contacts' tags; the merged contact is gone (GET answers 404) and getByEmail names the survivor."""

    def test_merge_keeps_the_survivor_and_deletes_the_other(self, sandbox, ontraport):
        sandbox.add_contact(
            {"id": "30", "firstname": "Old", "email": "twin@example.com", "contact_cat": "*/*1*/*"}
        )
        sandbox.add_contact(
            {
                "id": "50",
                "firstname": "New",
                "lastname": "Later",
                "email": "twin@example.com",
                "contact_cat": "*/*2*/*",
            }
        )

        survivor = sandbox.merge_contacts(into=30, merged=50)

        assert (survivor["firstname"], survivor["lastname"]) == ("Old", "Later")
        assert sandbox.get_contact(50) is None
        contact = ontraport.get_contact(30)
        assert contact.tag_ids == {1, 2}
        assert ontraport.get_contacts([30, 50]).keys() == {30}
        assert ontraport.find_contact_ids_by_email("TWIN@example.com") == [30]

    @pytest.mark.parametrize("body", [{"into": 30}, {"into": 1, "from": 1}, {"into": 1, "from": 99999}])
    def test_a_bad_merge_is_refused(self, sandbox, body):
        response = requests.post(sandbox.control_url.rstrip("/") + "/contacts/merge", json=body, timeout=5)
        assert response.status_code in (400, 404)
        assert "error" in response.json()
