"""The sandbox's parts on their own: rate-limit window, conditions, faults, seed data."""

from __future__ import annotations

import json

import pytest

from ontraport_client.sandbox.conditions import parse_condition
from ontraport_client.sandbox.faults import FaultQueue
from ontraport_client.sandbox.rate_limit import RollingWindowLimiter
from ontraport_client.sandbox.seed import load_seed, ontraport_value
from ontraport_client.testing import FakeClock


class TestRollingWindowLimiter:
    def test_remaining_counts_down_and_refusals_are_not_counted(self):
        clock = FakeClock()
        limiter = RollingWindowLimiter(3, 60, clock)

        statuses = [limiter.acquire() for _ in range(5)]

        assert [s.allowed for s in statuses] == [True, True, True, False, False]
        assert [s.remaining for s in statuses] == [2, 1, 0, 0, 0]
        clock.advance(60)
        assert limiter.acquire().remaining == 2  # only the 3 accepted requests had filled the window

    def test_reset_is_the_time_until_the_oldest_request_leaves_rounded_up(self):
        clock = FakeClock()
        limiter = RollingWindowLimiter(2, 60, clock)

        assert limiter.peek().reset == 0  # empty window
        limiter.acquire()
        clock.advance(10.5)
        limiter.acquire()
        assert limiter.acquire().reset == 50  # 49.5 s left for the first: rounded up
        clock.advance(49.5)
        status = limiter.acquire()  # the first has left: one slot
        assert (status.allowed, status.remaining, status.reset) == (True, 0, 11)

    def test_a_request_just_counted_resets_in_the_whole_window_not_one_second_more(self):
        # (t + 60) - t is a hair above 60 in floating point at this t: its ceiling said 61.
        limiter = RollingWindowLimiter(3, 60, FakeClock(start=1000.1507))

        assert limiter.acquire().reset == 60

    def test_the_window_rolls(self):
        clock = FakeClock()
        limiter = RollingWindowLimiter(2, 10, clock)
        limiter.acquire()
        clock.advance(6)
        limiter.acquire()

        clock.advance(4)  # the first is 10 s old: gone, the second stays 6 s more

        assert limiter.acquire().allowed
        assert not limiter.acquire().allowed

    def test_unlimited_gives_no_status(self):
        limiter = RollingWindowLimiter(0, 60)

        assert limiter.acquire() is None
        assert limiter.peek() is None

    def test_headers(self):
        status = RollingWindowLimiter(180, 60, FakeClock()).acquire()

        assert status.headers() == {
            "X-Rate-Limit-Limit": "180",
            "X-Rate-Limit-Remaining": "179",
            "X-Rate-Limit-Reset": "60",
        }

    def test_bad_configuration(self):
        with pytest.raises(ValueError):
            RollingWindowLimiter(-1, 60)
        with pytest.raises(ValueError):
            RollingWindowLimiter(10, 0)


def cond(field, op, value=None, values=None):
    item = {"field": {"field": field}, "op": op}
    if values is not None:
        item["value"] = {"list": [{"value": v} for v in values]}
    elif value is not None:
        item["value"] = {"value": value}
    return item


class TestConditions:
    CONTACT = {"id": "12", "email": "Ann@Example.com", "firstname": "Ann", "city": None, "dlm": "1700000000"}

    @pytest.mark.parametrize(
        ("item", "expected"),
        [
            (cond("email", "=", "ann@example.com"), True),
            (cond("email", "<>", "ann@example.com"), False),
            (cond("id", "=", 12), True),
            (cond("id", ">", 9), True),  # numeric, not text ("12" < "9")
            (cond("id", "<=", "11"), False),
            (cond("dlm", ">=", 1700000000), True),
            (cond("id", "IN", values=[1, 12]), True),
            (cond("id", "NOT IN", values=[1, 12]), False),
            (cond("email", "LIKE", "%@example.com"), True),
            (cond("firstname", "LIKE", "A_n"), True),
            (cond("firstname", "LIKE", "B%"), False),
            (cond("city", "IS", "NULL"), True),  # the SDK's null check: IS with the value NULL
            (cond("email", "IS", "NULL"), False),
            (cond("city", "=", ""), True),
            ({"field": "firstname", "op": "=", "value": "ann"}, True),  # loose form
        ],
    )
    def test_single_comparisons(self, item, expected):
        assert parse_condition(json.dumps([item]))(self.CONTACT) is expected

    def test_and_binds_tighter_than_or(self):
        text = json.dumps(
            [cond("id", "=", 1), "OR", cond("id", "=", 12), "AND", cond("firstname", "=", "Bob")]
        )

        assert parse_condition(text)(self.CONTACT) is False

    @pytest.mark.parametrize(
        "text",
        [
            "nope",
            "[]",
            '[{"field":{"field":"id"},"op":"=","value":{"value":1}},"AND"]',
            '[{"field":{"field":"id"},"op":"=","value":{"value":1}},"XOR",{"field":"id","op":"=","value":1}]',
            '[{"op":"=","value":{"value":1}}]',
            # Operators Ontraport does not have (PHP SDK Criteria): refused as an account refuses them.
            '[{"field":{"field":"id"},"op":"!=","value":{"value":1}}]',
            '[{"field":{"field":"city"},"op":"IS NULL"}]',
            '[{"field":{"field":"city"},"op":"IS NOT NULL"}]',
            '[{"field":{"field":"city"},"op":"NOT LIKE","value":{"value":"x%"}}]',
            '[{"field":{"field":"city"},"op":"IS","value":{"value":"Paris"}}]',
            '[{"field":{"field":"id"},"op":"IN","value":{"value":1}}]',
            '["AND"]',
        ],
    )
    def test_invalid_conditions_raise(self, text):
        with pytest.raises(ValueError):
            parse_condition(text)


class TestFaultQueue:
    def test_counts_down_and_matches_endpoints_case_insensitively(self):
        queue = FaultQueue()
        queue.add({"status": 500, "count": 2, "endpoint": "GET /Contacts"})

        assert queue.take("GET /Tags") is None
        assert queue.take("GET /contacts").status == 500
        assert queue.take("GET /Contacts").status == 500
        assert queue.take("GET /Contacts") is None
        assert queue.pending() == []


class TestSeed:
    def test_demo_data(self):
        seed = load_seed("demo")

        assert len(seed.contacts) == 12
        assert sum(1 for contact in seed.contacts if not contact.get("email")) == 1
        assert seed.fields["f1534"]["alias"] == "Username"
        assert seed.fields["f1535"]["type"] == "drop"
        assert (1, "Members") in seed.tags
        for contact in seed.contacts:
            assert all(value is None or isinstance(value, str) for value in contact.values())

    @pytest.mark.parametrize(
        ("value", "text"),
        [(None, None), ("x", "x"), (True, "1"), (False, "0"), (12, "12"), (2.0, "2"), (2.5, "2.5")],
    )
    def test_values_become_strings(self, value, text):
        assert ontraport_value(value) == text

    @pytest.mark.parametrize(
        "data",
        [
            [],
            {"contacts": {}},
            {"tags": [{"tag_name": "no id"}]},
            {"tags": [{"tag_id": "x", "tag_name": "bad id"}]},
            {"fields": {"f1": "not an object"}},
            {"contacts": [{"f1": [1, 2]}]},
        ],
    )
    def test_bad_seed_data_raises(self, data):
        with pytest.raises(ValueError):
            load_seed(data)
