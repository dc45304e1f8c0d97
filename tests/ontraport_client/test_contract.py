"""One table of Ontraport's documented shapes (contract.py), run against what the client sends and against
what the sandbox answers."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
import requests

from ontraport_client import OntraportClient, RetryPolicy
from tests.ontraport_client.contract import SHAPES, Shape

IDS = [shape.name for shape in SHAPES]


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_the_client_sends_the_documented_request_and_reads_the_answer(shape: Shape, http_recorder):
    http_recorder.body = json.dumps({"code": 0, "data": shape.answer, "account_id": 1}).encode()
    client = OntraportClient(
        "app",
        "key",
        http_recorder.url + "/1/",
        retry=RetryPolicy(max_attempts=1),
        contact_fields=lambda: ["f1534"],
    )

    shape.call(client)  # reads the documented answer without raising

    [sent] = http_recorder.requests
    assert (sent.method, sent.path) == (shape.method, f"/1/{shape.path}")
    assert sent.query == shape.query
    content_type = sent.headers.get("content-type", "")
    if shape.form is not None:
        assert content_type == "application/x-www-form-urlencoded"
        assert dict(parse_qsl(sent.body.decode(), keep_blank_values=True)) == shape.form
    elif shape.json is not None:
        assert content_type == "application/json"
        assert sent.json() == shape.json
    else:
        assert sent.body == b""


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_the_sandbox_answers_the_documented_request_in_the_documented_shape(shape: Shape, sandbox):
    if shape.prepare is not None:
        shape.prepare(sandbox)
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}

    answer = requests.request(
        shape.method,
        f"{sandbox.url}{shape.path}",
        params=shape.query,
        data=shape.form,
        json=shape.json,
        headers=headers,
        timeout=5,
    )

    assert answer.status_code == 200, answer.text
    envelope = answer.json()
    assert (envelope["code"], set(envelope) >= {"data", "account_id"}) == (0, True)
    data = envelope["data"]
    if shape.answer_is_list:
        assert isinstance(data, list)
        assert "misc" in envelope  # list calls add it
        rows = data
    else:
        rows = [data]
    if shape.answer_keys is not None:
        assert rows, "the sandbox answered no row to check"
        for row in rows:
            if shape.query.get("listFields"):
                assert set(row) == set(shape.answer_keys), row  # narrowed to exactly the listed fields
            else:
                assert set(row) >= shape.answer_keys, row
            # Every value a string or null, ids included (Ontraport's wire format).
            flat = [value for value in row.values() if not isinstance(value, dict | list)]
            assert all(value is None or isinstance(value, str) for value in flat), row
    elif shape.answer is not None and not isinstance(shape.answer, list):
        assert data == shape.answer
