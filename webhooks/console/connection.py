"""Is the Ontraport connection healthy? One live call, its outcome in words a site owner acts on."""

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from ontraport_client import (
    AuthenticationError,
    OntraportClient,
    OntraportError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)

CHECK_TIMEOUT = 10.0
ONTRAPORT_HOST = "api.ontraport.com"


@dataclass(frozen=True)
class ConnectionStatus:
    ok: bool
    headline: str  # "Connected", "Wrong credentials" ...
    detail: str  # what happened and what to do
    endpoint: str  # "Ontraport", "the local Ontraport sandbox" or "a custom API URL"
    contact_count: int | None = None
    calls_limit: int | None = None  # the account's calls per window, from X-Rate-Limit-* headers
    calls_remaining: int | None = None
    seconds: float = 0.0


def connection_check() -> ConnectionStatus:
    """One call (GET Contacts/getInfo) with a client of its own: no retry and a short timeout, so the page
    answers quickly whatever Ontraport does, and the site's shared client keeps its pacing untouched."""
    endpoint = endpoint_name(settings.ONTRAPORT_API_URL)
    if not settings.ONTRAPORT_APP_ID or not settings.ONTRAPORT_API_KEY:
        return ConnectionStatus(
            False,
            "Not configured",
            "Set ONTRAPORT_APP_ID and ONTRAPORT_API_KEY (Ontraport: Administration → Integrations → API "
            "Instructions and Key Manager) and restart the site.",
            endpoint,
        )
    client = OntraportClient(
        app_id=settings.ONTRAPORT_APP_ID,
        api_key=settings.ONTRAPORT_API_KEY,
        base_url=settings.ONTRAPORT_API_URL,
        timeout=min(CHECK_TIMEOUT, settings.ONTRAPORT_TIMEOUT),
        retry=RetryPolicy(max_attempts=1),
    )
    started = time.monotonic()
    try:
        count = client.contact_count()
    except OntraportError as error:
        return _failed(error, endpoint, client, time.monotonic() - started)
    finally:
        client.close()
    state = client.pacer.store.load()
    return ConnectionStatus(
        True,
        "Connected",
        f"{endpoint} answered in {time.monotonic() - started:.1f} s; the account has {count} contacts.",
        endpoint,
        contact_count=count,
        calls_limit=state.limit,
        calls_remaining=state.remaining,
        seconds=time.monotonic() - started,
    )


def _failed(
    error: OntraportError, endpoint: str, client: OntraportClient, seconds: float
) -> ConnectionStatus:
    state = client.pacer.store.load()

    def failed(headline: str, detail: str) -> ConnectionStatus:
        return ConnectionStatus(
            False,
            headline,
            detail,
            endpoint,
            calls_limit=state.limit,
            calls_remaining=state.remaining,
            seconds=seconds,
        )

    if isinstance(error, AuthenticationError):
        return failed(
            "Wrong credentials",
            f"{endpoint} refused the App ID / API key pair (HTTP {error.status}). Check ONTRAPORT_APP_ID and "
            "ONTRAPORT_API_KEY; the key needs the Contacts permissions. Webhooks keep arriving and are "
            "retried once the credentials are fixed.",
        )
    if isinstance(error, RateLimitedError):
        return failed(
            "Rate-limited",
            "The account's calls for this window are used up; a call frees up in "
            f"{error.reset_seconds:.0f} s. "
            "Webhooks wait and are processed then (rate limiting never fails a delivery). Another program "
            "sharing the API key may be using the budget.",
        )
    if isinstance(error, TransportError) and error.status is None:
        return failed(
            "No network",
            f"No answer from {settings.ONTRAPORT_API_URL}: {unreachable_why(settings.ONTRAPORT_API_URL)}. "
            "Check the server's network, DNS and firewall, and ONTRAPORT_API_URL. Webhooks are kept and "
            "retried.",
        )
    if isinstance(error, ServerError):
        return failed(
            "Ontraport is failing",
            f"{endpoint} answered HTTP {error.status}: {error.body_excerpt or error}. This is on Ontraport's "
            "side; webhooks are retried with backoff.",
        )
    return failed("Unexpected answer", f"{endpoint} answered: {error}")


def endpoint_name(api_url: str) -> str:
    """Say which Ontraport the site talks to; the local sandbox is named as such (its control API answers)."""
    parts = urlsplit(api_url)
    if parts.hostname == ONTRAPORT_HOST:
        return "Ontraport"
    try:
        answer = requests.get(f"{parts.scheme}://{parts.netloc}/_sandbox/", timeout=2)
        if answer.ok and answer.json().get("ok") is True:
            return "the local Ontraport sandbox (demo data, not a real account)"
    except (requests.RequestException, ValueError, AttributeError):
        pass
    return f"a custom API URL ({parts.scheme}://{parts.netloc})"


def unreachable_why(api_url: str, timeout: float = 3.0) -> str:
    """Why the API cannot be reached, in words: a look at each step (the name, then a connection), instead
    of the HTTP library's exception text (long, cut mid-word, and naming internals)."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"the name {host} could not be resolved (DNS)"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        return f"{host} port {port} did not answer within {timeout:g} s (a firewall, or the host is down)"
    except ConnectionRefusedError:
        return f"{host} refused the connection on port {port} (nothing listens there)"
    except OSError as error:
        return f"no connection to {host} port {port} ({error.strerror or 'network unreachable'})"
    if not addresses:
        return f"the name {host} has no address"
    return f"{host} accepts connections on port {port}, but the request got no answer (timed out or dropped)"
