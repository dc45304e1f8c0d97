"""The claim policy: which ready deliveries a worker takes now, and when it should look again.

Two holds make a burst converge with the fewest Ontraport calls (docs/architecture.md):
- coalescing: a partial group of contacts waits up to FUSION_COALESCE_SECONDS to fill up to 50, but only
  while webhooks arrive fast enough to fill it (a lone webhook is fetched at once);
- the burst hold: while webhooks arrive faster than FUSION_BURST_RATE, new deliveries are held (at most
  FUSION_BURST_MAX_HOLD_SECONDS) so a contact's repeats merge into one fetch.

Both read the arrival rate from an `ArrivalMeter`, which is given its clock (tests move a fake one).
"""

import datetime
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache as cache_result

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Min, Q, QuerySet
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils import timezone

from accounts.ontraport_budget import cache_is_shared
from webhooks.models import Delivery

CONTACTS_PER_CALL = 50

# The arrival rate is measured over the last few seconds, from the growth of the largest webhook delivery
# id (an index lookup on source, id): a burst is recognised however fast workers take what arrives.
BURST_SAMPLE_SECONDS = 2.0
# A burst that slows for a few seconds (a web node restarting, a sender pausing) is still a burst: while
# the rate over the last BURST_SUSTAIN_SECONDS is a burst's, the hold lasts until the recent rate falls
# under BURST_DIP_FACTOR of it. Letting go in a dip spends calls on contacts whose next webhook is coming.
BURST_SUSTAIN_SECONDS = 6.0
BURST_DIP_FACTOR = 0.5
# The shortest span a rate is taken from: short, so a burst is held from its first moments (every call
# spent then is spent again on the same contacts' later webhooks).
BURST_MIN_SPAN_SECONDS = 0.25


@dataclass(frozen=True)
class ArrivalRates:
    """Webhooks stored per second over the last BURST_SAMPLE_SECONDS (`recent`) and the last
    BURST_SUSTAIN_SECONDS (`sustained`); None when there is no span to measure over yet."""

    recent: float | None
    sustained: float | None


class ArrivalMeter:
    """Webhooks stored per second lately, from samples of the largest delivery id.

    With `shared=True` the samples live in Django's cache (CACHE_URL=redis://...), so every worker on every
    machine measures over the same samples: a worker that just started, or that was busy fetching, knows
    at once that a burst is on. The clock must then be one all machines share (time.time)."""

    CACHE_KEY = "fusion:arrivals:samples"

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, shared: bool = False) -> None:
        self.clock = clock
        self.shared = shared
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self) -> float | None:
        """The recent arrival rate, or None when it cannot tell yet (or when nothing needs it)."""
        return self.rates().recent

    def rates(self) -> ArrivalRates:
        """The recent and the sustained arrival rates (None: cannot tell yet, or nothing needs them)."""
        if not can_wait() or (settings.FUSION_BURST_RATE <= 0 and settings.FUSION_COALESCE_SECONDS <= 0):
            return ArrivalRates(None, None)
        now = self.clock()
        samples = self._load()
        samples.append((now, _newest_webhook_id()))
        samples = deque(sorted(samples))  # samples of several workers, in time order
        while len(samples) > 2 and samples[1][0] <= now - BURST_SUSTAIN_SECONDS:
            samples.popleft()
        self._save(samples)
        webhooks_stored = cache_result(lambda: _webhooks().count())  # a site's first seconds only
        return ArrivalRates(
            recent=_rate_over(samples, now, BURST_SAMPLE_SECONDS, webhooks_stored),
            sustained=_rate_over(samples, now, BURST_SUSTAIN_SECONDS, webhooks_stored),
        )

    def _load(self) -> deque[tuple[float, int]]:
        if not self.shared:
            return self._samples
        # Two workers may write at once and one's sample be lost: the next sample restores the picture.
        return deque(cache.get(self.CACHE_KEY) or [])

    def _save(self, samples: deque[tuple[float, int]]) -> None:
        if self.shared:
            cache.set(self.CACHE_KEY, list(samples)[-128:], timeout=int(BURST_SUSTAIN_SECONDS * 4))
        else:
            self._samples = samples


def _webhooks() -> QuerySet[Delivery]:
    # Webhooks only: the rows an import or sweep logs (50 a page) are no burst to hold webhooks for.
    return Delivery.objects.filter(source=Delivery.Source.WEBHOOK)


def _newest_webhook_id() -> int:
    return _webhooks().aggregate(newest=Max("id"))["newest"] or 0


def _rate_over(
    samples: deque[tuple[float, int]], now: float, seconds: float, webhooks_stored: Callable[[], int]
) -> float | None:
    """Webhooks per second from the newest sample at least `seconds` old (or the oldest there is) to the
    last. From a sample that saw no webhook at all, every webhook stored since counts: ids cannot say how
    many (after a prune, or a rolled-back insert, they do not start again at 1)."""
    since, first_id = samples[0]
    for taken_at, newest_id in samples:
        if taken_at > now - seconds:
            break
        since, first_id = taken_at, newest_id
    if now - since < BURST_MIN_SPAN_SECONDS:
        return None  # no span yet
    arrived = webhooks_stored() if first_id == 0 else samples[-1][1] - first_id
    return max(arrived, 0) / (now - since)


def _process_meter() -> ArrivalMeter:
    shared = cache_is_shared()
    return ArrivalMeter(clock=time.time if shared else time.monotonic, shared=shared)


# This process's meter: the worker keeps it between drains, so its samples span them.
arrival_meter = _process_meter()


def deliveries_claim(
    *, worker_id: str, limit: int | None = None, meter: ArrivalMeter | None = None
) -> list[Delivery]:
    """Claim the deliveries this worker should apply now. While a burst is being held, only those that
    have waited FUSION_BURST_MAX_HOLD_SECONDS (with every other delivery of their contacts): a long burst
    keeps merging the rest, and no delivery waits longer than the hold."""
    rates = (meter or arrival_meter).rates()
    held_since = None
    if burst_in_progress(rates):
        held_since = timezone.now() - datetime.timedelta(seconds=settings.FUSION_BURST_MAX_HOLD_SECONDS)
    Delivery.objects.give_up_abandoned(max_attempts=settings.FUSION_MAX_ATTEMPTS)
    return Delivery.objects.claim(
        worker_id=worker_id,
        limit=limit or settings.FUSION_BATCH_SIZE,
        lease=datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS),
        chunk=CONTACTS_PER_CALL,
        coalesce=coalesce_window() if _fills_a_group(rates.recent) else datetime.timedelta(0),
        due_before=held_since,
    )


def coalesce_window() -> datetime.timedelta:
    """How long a partial group of contacts may wait to fill up. Zero with an inline task backend, which
    cannot wake itself later."""
    if not can_wait():
        return datetime.timedelta(0)
    return datetime.timedelta(seconds=settings.FUSION_COALESCE_SECONDS)


def _fills_a_group(rate: float | None) -> bool:
    """Waiting for a partial group only pays when webhooks arrive fast enough to fill it in the coalesce
    window; a lone webhook is fetched at once."""
    return rate is not None and rate * settings.FUSION_COALESCE_SECONDS >= CONTACTS_PER_CALL


def can_wait() -> bool:
    """Can the task backend run a drain later? An inline one (ImmediateBackend) cannot."""
    return bool(task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer)


def burst_in_progress(rates: ArrivalRates) -> bool:
    """Are webhooks arriving faster than Ontraport's budget can fetch their contacts (FUSION_BURST_RATE)?

    Then fetching now spends calls on contacts whose next webhook is already on its way. Holding new
    deliveries until the flood slows (each at most FUSION_BURST_MAX_HOLD_SECONDS) merges those repeats into
    one fetch each: a burst converges with the fewest calls, and so the soonest.
    """
    burst_rate, recent = settings.FUSION_BURST_RATE, rates.recent
    if recent is None or burst_rate <= 0:
        return False
    slowed_for_a_moment = recent >= BURST_DIP_FACTOR * burst_rate and (rates.sustained or 0.0) >= burst_rate
    return recent >= burst_rate or slowed_for_a_moment


def next_due_at() -> datetime.datetime | None:
    """When the earliest waiting delivery becomes ready: a retry's due time or a claim's lease expiry."""
    due = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.PROCESSING)
    ).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=Delivery.Status.PENDING)),
        lease=Min("lease_expires_at", filter=Q(status=Delivery.Status.PROCESSING)),
    )
    retry, now = due["retry"], timezone.now()
    if retry is not None and retry <= now:
        # Ready, but held back to fill a group of contacts or while a burst lasts: look again shortly.
        retry = now + max(coalesce_window(), datetime.timedelta(seconds=BURST_SAMPLE_SECONDS / 2))
    times = [t for t in (retry, due["lease"]) if t is not None]
    return min(times) if times else None
