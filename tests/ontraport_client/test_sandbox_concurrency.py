"""Many threads at once: every request answered, no write lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from ontraport_client import OntraportClient, RetryPolicy
from ontraport_client.contact import parse_tag_ids

THREADS = 20


def client_for(sandbox) -> OntraportClient:
    # One client per thread: requests.Session is not documented as thread-safe.
    return OntraportClient(sandbox.app_id, sandbox.api_key, sandbox.url, retry=RetryPolicy(max_attempts=1))


def test_20_threads_reading_and_writing(sandbox):
    ids = sandbox.add_contacts([{"firstname": f"Thread {n}"} for n in range(THREADS)])

    def work(n: int) -> tuple[str, str]:
        client = client_for(sandbox)
        client.update_contact(ids[n], {"lastname": f"Wrote {n}"})
        return client.get_contact(ids[n]).first_name, client.get_contact(ids[n]).last_name

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))

    assert results == [(f"Thread {n}", f"Wrote {n}") for n in range(THREADS)]
    stats = sandbox.stats()
    assert stats["requests"] == 3 * THREADS
    assert stats["by_status"] == {"200": 3 * THREADS}


def test_concurrent_tag_changes_on_one_contact_are_all_kept(sandbox):
    tags = [{"tag_id": n, "tag_name": f"T{n}"} for n in range(1, THREADS + 1)]
    sandbox.reset(data={"contacts": [{"id": 1, "email": "one@example.com"}], "tags": tags})

    def add(tag_id: int) -> None:
        client_for(sandbox).add_tags([1], [tag_id])

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(add, range(1, THREADS + 1)))

    assert parse_tag_ids(sandbox.get_contact(1)["contact_cat"]) == set(range(1, THREADS + 1))


def test_concurrent_creations_get_distinct_ids(sandbox):
    def create(n: int) -> str:
        return sandbox.add_contact({"email": f"c{n}@example.com"})["id"]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        created = list(pool.map(create, range(THREADS)))

    assert sorted(int(i) for i in created) == list(range(13, 13 + THREADS))


def test_rate_limit_holds_under_concurrency(sandbox):
    sandbox.reset(rate_limit=7, window=60)
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}

    def status_of_one_call(_: int) -> int:
        return requests.get(sandbox.url + "Tags", headers=headers, timeout=5).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(status_of_one_call, range(THREADS)))

    assert outcomes.count(200) == 7
    assert outcomes.count(429) == THREADS - 7
    assert sandbox.stats()["rate_limited"] == THREADS - 7
