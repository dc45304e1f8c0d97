"""Which address an inbound request counts as: the wrong-key throttle's, the logs', and the `source_ip` its
delivery stores (docs/security.md, "Which address counts")."""

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def request_source_ip(request: HttpRequest) -> str | None:
    """The peer's address, unless the peer is a proxy in FUSION_TRUSTED_PROXIES; then the nearest
    X-Forwarded-For address that is not a trusted proxy (entries further left were written by the client
    and prove nothing)."""
    peer = request.META.get("REMOTE_ADDR") or None
    if not settings.FUSION_TRUSTED_PROXIES or not _trusted_proxy(peer):
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed(forwarded):
        if not _trusted_proxy(address):
            return address if _is_ip(address) else peer
    return peer


def _trusted_proxy(address: str | None) -> bool:
    if not address or not _is_ip(address):
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _proxy_networks(tuple(settings.FUSION_TRUSTED_PROXIES)))


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def _proxy_networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)
