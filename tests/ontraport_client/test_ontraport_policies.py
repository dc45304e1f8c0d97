"""Pacer and RetryPolicy on their own: the decisions, without HTTP."""

from __future__ import annotations

import threading

import pytest

from ontraport_client import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    Pacer,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from ontraport_client.pacing import RateLimitState
from ontraport_client.sandbox.rate_limit import RollingWindowLimiter
from ontraport_client.testing import FakeClock


def headers(limit="180", remaining="0", reset="30") -> dict[str, str]:
    return {"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": remaining, "X-Rate-Limit-Reset": reset}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pacer(clock) -> Pacer:
    return Pacer(clock=clock, sleep=clock.sleep)


class TestPacer:
    def test_without_any_answer_it_does_not_wait(self, pacer, clock):
        assert pacer.before_request() == 0
        assert clock.sleeps == []

    def test_waits_until_the_reset_when_nothing_remains(self, pacer, clock):
        pacer.observe(headers(remaining="0", reset="30"))
        clock.advance(10)

        assert pacer.before_request() == 20
        assert clock.sleeps == [20]

    def test_does_not_wait_while_requests_remain(self, pacer, clock):
        pacer.observe(headers(remaining="5", reset="30"))

        for _ in range(5):
            pacer.before_request()

        assert clock.sleeps == []

    def test_counts_its_own_requests_down_until_the_next_answer(self, pacer, clock):
        pacer.observe(headers(remaining="2", reset="30"))

        pacer.before_request()
        pacer.before_request()
        pacer.before_request()  # the third would be over the limit

        assert clock.sleeps == [30]

    def test_once_the_reset_is_past_one_request_probes_the_new_window(self, pacer, clock):
        pacer.observe(headers(remaining="0", reset="5"))
        clock.advance(6)

        assert pacer.before_request() == 0  # this one goes at once, to learn what the window freed
        state = pacer.store.load()
        assert (state.remaining, state.reset_at, state.probing) == (0, clock() + Pacer.PROBE_SECONDS, True)
        # Another request before the probe's answer waits for it, looking again every poll interval ...
        pacer.before_request()
        assert clock.sleeps[0] == Pacer.PROBE_POLL_SECONDS
        # ... and the answer's numbers end the wait.
        clock.sleeps.clear()
        pacer.observe(headers(remaining="5", reset="30"))
        assert pacer.before_request() == 0
        assert clock.sleeps == []

    def test_reserve(self, clock):
        pacer = Pacer(clock=clock, sleep=clock.sleep, reserve=10)
        pacer.observe(headers(remaining="10", reset="12"))

        pacer.before_request()

        assert clock.sleeps == [12]

    def test_header_names_are_case_insensitive_and_garbage_is_ignored(self, pacer, clock):
        pacer.observe({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "8"})
        pacer.observe({"X-Rate-Limit-Remaining": "lots", "X-Rate-Limit-Reset": "-1", "Other": "1"})

        pacer.before_request()

        assert clock.sleeps == [8]

    def test_answers_without_the_headers_change_nothing(self, pacer, clock):
        pacer.observe(headers(remaining="0", reset="8"))
        pacer.observe({"Content-Type": "application/json"})

        pacer.before_request()

        assert clock.sleeps == [8]

    def test_state_lives_in_a_pluggable_store(self, clock):
        class RecordingStore:
            def __init__(self):
                self.state = RateLimitState()
                self.saved: list[RateLimitState] = []

            def load(self):
                return self.state

            def save(self, state):
                self.state = state
                self.saved.append(state)

        store = RecordingStore()
        pacer = Pacer(clock=clock, sleep=clock.sleep, store=store)

        pacer.observe(headers(limit="180", remaining="3", reset="20"))

        assert store.saved == [
            RateLimitState(
                limit=180,
                remaining=3,
                reset_at=clock() + 20,
                observed_at=clock(),
                calls=((clock(), clock()),),
            )
        ]

    def test_threads_share_the_budget(self, clock):
        pacer = Pacer(clock=clock, sleep=clock.sleep)
        pacer.observe(headers(remaining="5", reset="30"))
        waits: list[float] = []
        lock = threading.Lock()

        def send() -> None:
            waited = pacer.before_request()
            with lock:
                waits.append(waited)

        threads = [threading.Thread(target=send) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # 5 went through at once; the other 7 were held (for the reset, then for each other's probes, since
        # no answer came to say what the new window holds). The sleeps of 12 threads all move the one
        # fake clock, so how long each waited is not meaningful here.
        assert sorted(waits)[:5] == [0] * 5
        assert all(wait > 0 for wait in sorted(waits)[5:])
        assert max(clock.sleeps) == 30

    def test_negative_reserve_or_window_is_refused(self):
        with pytest.raises(ValueError):
            Pacer(reserve=-1)
        with pytest.raises(ValueError):
            Pacer(window=0)

    @pytest.mark.parametrize("reserve", [0, 2])
    def test_a_burst_spends_the_next_window_at_the_pace_the_first_was_spent(self, clock, reserve):
        """Against Ontraport's rolling window (the sandbox's limiter, on the same fake clock): 10 requests
        per 60 s, the first 10 spent 0.2 s apart, then 20 more asked for at once. Each of those goes as soon
        as the request `limit - reserve` places before it has left the window, not at the reset (rounded
        up to a whole second) and one probe at a time; and the server never answers 429."""
        limiter = RollingWindowLimiter(limit=10, window=60, clock=clock)
        pacer = Pacer(clock=clock, sleep=clock.sleep, reserve=reserve, window=60)
        went: list[float] = []
        for n in range(30):
            pacer.before_request()
            went.append(clock())
            status = limiter.acquire()
            assert status is not None and status.allowed, f"request {n} got a 429"
            pacer.observe(status.headers())
            if n < 9:
                clock.advance(0.2)

        step = 10 - reserve
        for n in range(10, 30):
            slot_free_at = went[n - step] + 60 + Pacer.LOG_MARGIN_SECONDS
            assert went[n] <= slot_free_at + 1e-6, (n, went[n] - slot_free_at)

    def test_uneven_latency_never_makes_it_count_a_request_as_gone_too_soon(self, clock):
        """The server counts a request from when it arrives, somewhere between its sending and its answer.
        With latencies that vary from 0 to 0.6 s each way, 60 requests at 10 per window: never a 429."""
        limiter = RollingWindowLimiter(limit=10, window=60, clock=clock)
        pacer = Pacer(clock=clock, sleep=clock.sleep, window=60)
        for n in range(60):
            pacer.before_request()
            sent_at = clock()
            clock.advance((0.6, 0.0, 0.3)[n % 3])  # on its way to the server
            status = limiter.acquire()
            assert status is not None and status.allowed, f"request {n} got a 429"
            clock.advance((0.0, 0.6, 0.1)[n % 3])  # the answer on its way back
            pacer.observe(status.headers(), sent_at=sent_at)

    def test_requests_of_other_programs_are_learnt_from_the_answers(self, clock):
        """The log holds this site's requests only: an answer saying less remains than it accounts for
        (another program on the account) is believed, and the reset then decides."""
        limiter = RollingWindowLimiter(limit=5, window=60, clock=clock)
        pacer = Pacer(clock=clock, sleep=clock.sleep, window=60)
        for _ in range(3):
            assert limiter.acquire() is not None  # another program's requests
        clock.advance(10)
        for _ in range(3):
            pacer.before_request()
            status = limiter.acquire()
            assert status is not None and status.allowed
            pacer.observe(status.headers())

        # Two went at once (the answers said 2 then 1 remained); the third waited until the other
        # program's requests left the window, which only the reset could tell.
        assert clock.sleeps == [50.0]


class TestRetryPolicy:
    def test_defaults(self):
        assert RetryPolicy() == RetryPolicy(5, 0.5, 30.0, 0.5, True, 120.0)

    def test_max_attempts_1_never_retries(self):
        policy = RetryPolicy(max_attempts=1)

        for error in (ServerError("x"), TransportError("x"), RateLimitedError("x", reset_seconds=1)):
            assert policy.delay_before_retry(1, error, 0.5) is None

    def test_stops_at_max_attempts(self):
        policy = RetryPolicy(max_attempts=3)

        assert policy.delay_before_retry(2, ServerError("x"), 0.0) is not None
        assert policy.delay_before_retry(3, ServerError("x"), 0.0) is None

    @pytest.mark.parametrize("error", [ApiError("x"), NotFoundError("x"), AuthenticationError("x")])
    def test_permanent_errors_are_not_retried(self, error):
        assert RetryPolicy().delay_before_retry(1, error, 0.0) is None

    def test_backoff_doubles_with_jitter_and_is_capped(self):
        policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=0.5)

        assert [policy.backoff(n, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
        assert [policy.backoff(n, 1.0) for n in (1, 2, 3)] == [0.75, 1.5, 3.0]

    def test_rate_limited_waits_the_reset(self):
        policy = RetryPolicy()

        assert policy.delay_before_retry(1, RateLimitedError("x", reset_seconds=42), 0.9) == 42

    def test_rate_limited_without_reset_falls_back_to_backoff(self):
        assert RetryPolicy(jitter=0).delay_before_retry(2, RateLimitedError("x", reset_seconds=0), 0.0) == 1.0

    def test_rate_limited_can_be_turned_off_or_bounded(self):
        error = RateLimitedError("x", reset_seconds=61)

        assert RetryPolicy(retry_rate_limited=False).delay_before_retry(1, error, 0.0) is None
        assert RetryPolicy(max_rate_limit_wait=60).delay_before_retry(1, error, 0.0) is None
        assert RetryPolicy(max_rate_limit_wait=61).delay_before_retry(1, error, 0.0) == 61

    @pytest.mark.parametrize(
        "options", [{"max_attempts": 0}, {"base_delay": -1}, {"jitter": 1.5}, {"max_rate_limit_wait": -1}]
    )
    def test_nonsense_is_refused(self, options):
        with pytest.raises(ValueError):
            RetryPolicy(**options)
