"""fusion_site.environment: choices, durations and EMAIL_URL, each refusal naming what to write instead."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from fusion_site.environment import choice, duration, mailers_from_email_url

FORMATS = ("email", "firstname_lastname", "firstname_random")


def test_a_choice_is_its_default_when_unset_and_the_value_when_allowed(monkeypatch):
    monkeypatch.delenv("TEST_CHOICE", raising=False)
    assert choice("TEST_CHOICE", FORMATS, default="email") == "email"
    monkeypatch.setenv("TEST_CHOICE", "firstname_random")
    assert choice("TEST_CHOICE", FORMATS, default="email") == "firstname_random"


@pytest.mark.parametrize("value", ["Email", "e-mail", "", " email"])
def test_a_choice_outside_the_list_names_the_variable_the_value_and_the_allowed_ones(monkeypatch, value):
    monkeypatch.setenv("TEST_CHOICE", value)
    with pytest.raises(ImproperlyConfigured) as refused:
        choice("TEST_CHOICE", FORMATS, default="email")
    assert str(refused.value) == (
        f"TEST_CHOICE={value!r} is not allowed: use one of email, firstname_lastname, firstname_random."
    )


def test_a_choice_takes_the_keys_of_a_mapping(monkeypatch):
    monkeypatch.setenv("TEST_CHOICE", "immediate")
    assert choice("TEST_CHOICE", {"database": 1, "immediate": 2}, default="database") == "immediate"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("24h", datetime.timedelta(hours=24)),
        ("90m", datetime.timedelta(minutes=90)),
        ("3600s", datetime.timedelta(seconds=3600)),
        ("3600", datetime.timedelta(seconds=3600)),
        ("45", datetime.timedelta(seconds=45)),
        ("1d", datetime.timedelta(days=1)),
        ("1.5h", datetime.timedelta(minutes=90)),
        (" 2 H ", datetime.timedelta(hours=2)),
        ("0", datetime.timedelta(0)),
        ("0s", datetime.timedelta(0)),
    ],
)
def test_a_duration_is_read_as_a_timedelta(monkeypatch, value, expected):
    monkeypatch.setenv("TEST_EVERY", value)
    assert duration("TEST_EVERY", default="24h") == expected


def test_a_duration_is_its_default_when_unset(monkeypatch):
    monkeypatch.delenv("TEST_EVERY", raising=False)
    assert duration("TEST_EVERY", default="24h") == datetime.timedelta(hours=24)
    assert duration("TEST_EVERY", default="0") == datetime.timedelta(0)


@pytest.mark.parametrize(
    "value", ["daily", "", "h", "-5m", "24 hours", "1w", "1e3", "24h30m", "1,5h", "PT24H"]
)
def test_anything_else_is_refused_with_what_was_given_and_what_is_accepted(monkeypatch, value):
    monkeypatch.setenv("TEST_EVERY", value)
    with pytest.raises(ImproperlyConfigured) as refused:
        duration("TEST_EVERY", default="24h")
    message = str(refused.value)
    assert message.startswith(f"TEST_EVERY={value!r} is not a duration: give ")
    assert "3600, 3600s, 90m, 24h or 1d (0: none)" in message


def test_a_duration_too_long_for_a_timedelta_is_refused(monkeypatch):
    monkeypatch.setenv("TEST_EVERY", "9999999999d")
    with pytest.raises(ImproperlyConfigured, match=r"TEST_EVERY='9999999999d' is too long a duration"):
        duration("TEST_EVERY", default="24h")


SMTP = "django.core.mail.backends.smtp.EmailBackend"


def test_smtp_carries_host_port_and_credentials_and_no_encryption():
    assert mailers_from_email_url("smtp://user:secret@mail.example:25") == {
        "default": {
            "BACKEND": SMTP,
            "OPTIONS": {
                "host": "mail.example",
                "port": 25,
                "username": "user",
                "password": "secret",
                "use_tls": False,
                "use_ssl": False,
                "timeout": 30,
            },
        }
    }


def test_smtp_leaves_out_what_the_url_does_not_say():
    options = mailers_from_email_url("smtp://localhost")["default"]["OPTIONS"]
    assert options == {"host": "localhost", "use_tls": False, "use_ssl": False, "timeout": 30}


def test_a_password_is_url_decoded():
    options = mailers_from_email_url("smtp://user:p%40ss%2Fword@mail.example:2525")["default"]["OPTIONS"]
    assert (options["password"], options["port"]) == ("p@ss/word", 2525)


@pytest.mark.parametrize(
    ("url", "use_tls", "use_ssl"),
    [
        ("smtp+tls://u:p@mail.example:587", True, False),
        ("smtps://u:p@mail.example:587", True, False),  # django-environ's smtps is STARTTLS
        ("smtp+ssl://u:p@mail.example:465", False, True),
        ("smtp://u:p@mail.example:587/?tls=true", True, False),
        ("smtp://u:p@mail.example:587/?tls=True", True, False),
        ("smtp://u:p@mail.example:587?tls=1", True, False),
        ("smtp://u:p@mail.example:465/?ssl=true", False, True),
        ("smtp://u:p@mail.example:587/?tls=false", False, False),
    ],
)
def test_tls_and_ssl_come_from_the_scheme_or_the_query(url, use_tls, use_ssl):
    mailer = mailers_from_email_url(url)["default"]
    assert mailer["BACKEND"] == SMTP
    assert (mailer["OPTIONS"]["use_tls"], mailer["OPTIONS"]["use_ssl"]) == (use_tls, use_ssl)
    assert mailer["OPTIONS"]["host"] == "mail.example"


@pytest.mark.parametrize(
    "url", ["smtp+tls://u:p@mail.example:587/?ssl=true", "smtp+ssl://mail.example/?tls=1"]
)
def test_tls_and_ssl_at_once_are_refused_when_the_settings_load(url):
    with pytest.raises(ImproperlyConfigured, match="both TLS"):
        mailers_from_email_url(url)


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("consolemail://", "django.core.mail.backends.console.EmailBackend"),
        ("memorymail://", "django.core.mail.backends.locmem.EmailBackend"),
        ("dummymail://", "django.core.mail.backends.dummy.EmailBackend"),
    ],
)
def test_backends_without_options(url, backend):
    assert mailers_from_email_url(url) == {"default": {"BACKEND": backend, "OPTIONS": {}}}


def test_filemail_takes_the_path_with_one_leading_slash_dropped():
    assert mailers_from_email_url("filemail:////var/mail/site") == {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": "/var/mail/site"},
        }
    }


def test_an_unknown_scheme_is_refused_without_repeating_the_url():
    with pytest.raises(ImproperlyConfigured) as refused:
        mailers_from_email_url("sendgrid://apikey:SG.very-secret@api.sendgrid.example")
    message = str(refused.value)
    assert message.startswith(
        "EMAIL_URL has the scheme 'sendgrid': use one of smtp://, smtps://, smtp+tls://"
    )
    assert "consolemail://" in message and "filemail://" in message and "memorymail://" in message
    assert "very-secret" not in message


def test_a_url_without_a_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL has no scheme: use one of smtp://"):
        mailers_from_email_url("mail.example:25")
