"""A thin, typed client for Ontraport's REST API, and a local sandbox that imitates it.

No Django in here: the site's apps depend on this package, never the other way round.
"""

from .client import PAGE_SIZE, OntraportClient
from .contact import Contact, contact_app_url
from .contact_field import ContactField
from .errors import (
    ApiError,
    AuthenticationError,
    ConditionIgnoredError,
    NotFoundError,
    OntraportError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from .pacing import Pacer
from .retry import RetryPolicy
from .tag import Tag
from .version import __version__
from .webhook import WebhookSubscription

__all__ = [
    "PAGE_SIZE",
    "ApiError",
    "AuthenticationError",
    "ConditionIgnoredError",
    "Contact",
    "ContactField",
    "NotFoundError",
    "OntraportClient",
    "OntraportError",
    "Pacer",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "Tag",
    "TransportError",
    "WebhookSubscription",
    "__version__",
    "contact_app_url",
]
