"""Addresses that keep sending wrong access keys are answered 429 for a while.

Only the wrong-key path touches the cache: a webhook with the right key never waits on it. The counter
lives in Django's cache; set CACHE_URL to a shared cache (redis://...) so several web nodes count together.
"""

from django.conf import settings
from django.core.cache import cache


def bad_key_seen(source_ip: str | None) -> bool:
    """Count a wrong key from `source_ip`; True once it is over FUSION_BAD_KEY_LIMIT in the window."""
    key = f"fusion:bad-key:{source_ip or 'unknown'}"
    window = settings.FUSION_BAD_KEY_WINDOW_SECONDS
    if cache.add(key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
    return count > settings.FUSION_BAD_KEY_LIMIT
