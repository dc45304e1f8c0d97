"""What the settings read from the environment, beyond django-environ's own casts.

django-environ turns text into numbers, booleans, lists and database or cache configurations; it does not
check that a word is one of a setting's choices, read a duration such as "24h", or know Django 6.1's
MAILERS. These helpers do, and every refusal is an ImproperlyConfigured that names the variable, what it
was given and what it accepts: a typo in `.env` stops the site when its settings load, with the fix in the
message, instead of surfacing later in a worker.
"""

import datetime
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

# One reader for the whole settings module. It reads os.environ, into which settings.py first loads `.env`
# (without overwriting what the environment already sets).
env = environ.Env()


def choice(name: str, choices: Iterable[str], default: str) -> str:
    """The variable `name`, which must be one of `choices` exactly (case counts); `default` when unset."""
    allowed = list(choices)
    value = str(env.str(name, default=default))
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r} is not allowed: use one of {', '.join(allowed)}.")
    return value


# The syntax FUSION_RESYNC_EVERY has always taken: a number, then s, m, h or d (seconds without a unit);
# blanks around and between them and capitals are forgiven.
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_SYNTAX = "a number of seconds, minutes, hours or days, e.g. 3600, 3600s, 90m, 24h or 1d (0: none)"


def duration(name: str, default: str) -> datetime.timedelta:
    """The variable `name` ("24h", "90m", "3600s", "3600", "0") as a timedelta; `default`, in the same
    syntax, when unset. Zero is a valid answer: the caller decides what "none" means (off, no wait...)."""
    value = str(env.str(name, default=default))
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise ImproperlyConfigured(f"{name}={value!r} is not a duration: give {_DURATION_SYNTAX}.")
    number, unit = match.groups()
    try:
        return datetime.timedelta(seconds=float(number) * _SECONDS_PER_UNIT[unit])
    except OverflowError:
        raise ImproperlyConfigured(
            f"{name}={value!r} is too long a duration: give {_DURATION_SYNTAX}."
        ) from None


_SMTP = "django.core.mail.backends.smtp.EmailBackend"
_FILE = "django.core.mail.backends.filebased.EmailBackend"
# How long an SMTP connection may hang before the send fails (and the welcome e-mail is retried later):
# Django's own default is no timeout, so a mail server that stops answering would hold a worker.
_SMTP_TIMEOUT_SECONDS = 30


def _query_flag(options: dict[str, str], name: str) -> bool:
    return options.get(name, "").lower() in ("true", "1")


def mailers_from_email_url(url: str) -> dict[str, dict[str, Any]]:
    """EMAIL_URL, in django-environ's syntax, as Django 6.1's MAILERS: one "default" mailer whose backend
    the scheme names, given only the options that backend takes.

    smtp://, smtps:// and smtp+tls:// (STARTTLS), smtp+ssl:// (TLS from the start), with user, password,
    host and port, and `?tls=true` / `?ssl=true` as the other way to ask; consolemail://, filemail://
    (django-environ drops one leading slash: filemail:////var/mail is /var/mail), memorymail:// (locmem),
    dummymail://. An unknown scheme, or TLS and SSL at once, is refused; the message never repeats the URL,
    which may carry a password."""
    schemes = environ.Env.EMAIL_SCHEMES
    scheme = urlsplit(url).scheme if "://" in url else ""  # "host:25" would read as the scheme "host"
    if scheme not in schemes:
        given = f"the scheme {scheme!r}" if scheme else "no scheme"
        raise ImproperlyConfigured(
            f"EMAIL_URL has {given}: use one of {', '.join(f'{s}://' for s in schemes)}."
        )
    config = environ.Env.email_url_config(url)
    backend = str(config["EMAIL_BACKEND"])
    options: dict[str, Any] = {}
    if backend == _SMTP:
        # A query such as ?tls=true lands in django-environ's OPTIONS, with names in capitals.
        query = {str(key).upper(): str(value) for key, value in config.get("OPTIONS", {}).items()}
        use_tls = bool(config.get("EMAIL_USE_TLS")) or _query_flag(query, "TLS")
        use_ssl = bool(config.get("EMAIL_USE_SSL")) or _query_flag(query, "SSL")
        if use_tls and use_ssl:
            # Django's SMTP backend would refuse this only when the first e-mail is sent.
            raise ImproperlyConfigured(
                "EMAIL_URL asks for both TLS (STARTTLS) and SSL: use smtp+tls:// (usually port 587) "
                "or smtp+ssl:// (usually port 465), not both."
            )
        options = {
            "host": config.get("EMAIL_HOST"),
            "port": config.get("EMAIL_PORT"),
            "username": config.get("EMAIL_HOST_USER"),
            "password": config.get("EMAIL_HOST_PASSWORD"),
            "use_tls": use_tls,
            "use_ssl": use_ssl,
            "timeout": _SMTP_TIMEOUT_SECONDS,
        }
    elif backend == _FILE:
        options = {"file_path": config.get("EMAIL_FILE_PATH")}
    # Parts the URL left out are left to Django's defaults (port 25, no user...).
    options = {key: value for key, value in options.items() if value not in (None, "")}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}
