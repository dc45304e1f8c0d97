"""The settings that decide what a webhook does, as the page shows them: secrets never in full."""

import datetime
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    meaning: str


def _secret(value: str) -> str:
    return f"set ({len(value)} characters, hidden)" if value else "not set"


def _flag(value: object) -> str:
    return "yes" if value else "no"


def _duration(value: datetime.timedelta) -> str:
    """A duration the way the environment writes it (24h, 90m, 45s; 0 for none), in its largest whole unit."""
    seconds = value.total_seconds()
    if not seconds:
        return "0"
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds}s"


def effective_settings() -> list[Setting]:
    """Each from the environment (.env): change it there and restart the site and the worker."""
    rows = [
        Setting("ONTRAPORT_API_URL", settings.ONTRAPORT_API_URL, "where the site calls Ontraport"),
        Setting("ONTRAPORT_APP_ID", settings.ONTRAPORT_APP_ID or "not set", "the API App ID"),
        Setting("ONTRAPORT_API_KEY", _secret(settings.ONTRAPORT_API_KEY), "the API key"),
        Setting(
            "FUSION_ACCESS_KEY", _secret(settings.FUSION_ACCESS_KEY), "the key every webhook URL carries"
        ),
        Setting(
            "FUSION_PREVIOUS_ACCESS_KEYS",
            f"{len(settings.FUSION_PREVIOUS_ACCESS_KEYS)} still accepted",
            "keys being rotated out",
        ),
        Setting("SITE_URL", settings.SITE_URL, "the address Ontraport calls (the URLs below start with it)"),
        Setting(
            "FUSION_DEFAULT_ROLE", settings.FUSION_DEFAULT_ROLE, "the group of a new user without a role"
        ),
        Setting(
            "FUSION_USERNAME_FORMAT",
            settings.FUSION_USERNAME_FORMAT,
            "how new usernames are made (email, firstname_lastname, firstname_random)",
        ),
        Setting(
            "FUSION_SEND_WELCOME_EMAIL",
            _flag(settings.FUSION_SEND_WELCOME_EMAIL),
            "e-mail every new user (else only with send_notification=true)",
        ),
        Setting(
            "FUSION_RETURN_PASSWORD_FIELD",
            settings.FUSION_RETURN_PASSWORD_FIELD or "not set",
            "the Ontraport field a new user's generated password is written to",
        ),
        Setting("FUSION_MAX_ATTEMPTS", str(settings.FUSION_MAX_ATTEMPTS), "tries before a delivery fails"),
    ]
    rows += [
        Setting(
            "FUSION_RESYNC_EVERY",
            _duration(settings.FUSION_RESYNC_EVERY),
            "the sweep: how often the worker resyncs every linked user (0: never)",
        ),
        Setting(
            "FUSION_BULK_RESERVE",
            str(settings.FUSION_BULK_RESERVE),
            "calls per rate window imports, resyncs and the sweep leave to webhooks",
        ),
    ]
    return rows
