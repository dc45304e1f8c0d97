"""The site's own settings plus the bench app, its URLconf and its shortcut middleware (the floor and bare
views stay out of production). Everything else comes from the environment, exactly as in production."""

from fusion_site.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.benchsite"]  # noqa: F405
ROOT_URLCONF = "bench.benchsite.urls"
_webhook_mw = MIDDLEWARE.index("webhooks.middleware.WebhookOnAnyPathMiddleware")  # noqa: F405
MIDDLEWARE = [
    *MIDDLEWARE[: _webhook_mw + 1],  # noqa: F405
    "bench.benchsite.middleware.BenchShortcutMiddleware",
    *MIDDLEWARE[_webhook_mw + 1 :],  # noqa: F405
]
