"""One Ontraport budget for several workers: pacers sharing their state through a cache (Redis in
production; here the test settings' in-process cache, which every client below reaches the same way)."""

from django.core.cache import cache

from accounts.ontraport import ontraport_pacer
from accounts.ontraport_budget import CacheStateStore, budget_store, cache_is_shared
from ontraport_client import OntraportClient, Pacer, RetryPolicy
from ontraport_client.pacing import InMemoryStateStore, RateLimitState
from ontraport_client.sandbox import SandboxServer
from ontraport_client.testing import FakeClock


def three_workers(server: SandboxServer, clock: FakeClock, *, shared: bool) -> list[OntraportClient]:
    cache.clear()
    return [
        OntraportClient(
            server.app_id,
            server.api_key,
            server.url,
            retry=RetryPolicy(),
            pacer=Pacer(clock=clock, sleep=clock.sleep, store=CacheStateStore() if shared else None),
        )
        for _ in range(3)
    ]


def run_round_robin(workers: list[OntraportClient], calls: int) -> None:
    for n in range(calls):
        workers[n % len(workers)].get_contact(1 + n % 5)


def test_three_workers_sharing_the_budget_never_collect_a_429(limited_sandbox, fake_clock):
    workers = three_workers(limited_sandbox, fake_clock, shared=True)

    run_round_robin(workers, 9)

    stats = limited_sandbox.control().stats()
    assert stats["rate_limited"] == 0
    assert stats["requests"] == 9
    assert sum(w.calls_made for w in workers) == 9


def test_each_worker_pacing_alone_runs_into_429s(limited_sandbox, fake_clock):
    """What the shared store prevents: each pacer knows only its own last answer."""
    workers = three_workers(limited_sandbox, fake_clock, shared=False)

    run_round_robin(workers, 9)

    assert limited_sandbox.control().stats()["rate_limited"] > 0


def test_the_cache_store_round_trips_the_state_and_its_lock_is_exclusive():
    cache.clear()
    one, other = CacheStateStore(name="a"), CacheStateStore(name="a")
    state = RateLimitState(
        limit=180,
        remaining=7,
        reset_at=1234.5,
        probing=True,
        observed_at=1200.0,
        calls=((1190.5, 1190.6), (1199.25, 1199.5)),
    )

    one.save(state)

    assert other.load() == state
    assert CacheStateStore(name="b").load() == RateLimitState()
    with one.locked():
        assert not cache.add(one.lock_key, "someone else")
    assert cache.add(one.lock_key, "free again")


def test_without_a_shared_cache_each_process_keeps_its_own_budget(settings):
    assert not cache_is_shared()  # the test settings: locmem
    assert isinstance(budget_store(), InMemoryStateStore)
    assert isinstance(ontraport_pacer(reserve=2).store, InMemoryStateStore)

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    }
    assert cache_is_shared()
    assert isinstance(ontraport_pacer(reserve=2, name="bulk").store, CacheStateStore)
