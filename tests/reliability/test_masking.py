"""webhooks.masking, the one masking function every log line, stored path, admin page and error report
goes through: names recognised decoded, configured secrets in every printed form."""

import html
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from fusion_site.log_filters import RedactSecretsFilter
from webhooks.masking import MASK, is_secret_name, mask_mapping, mask_text

KEY = "Fu<&>\"'+%;=sion-0123456789abcdef"
GUESS = "guessed-0123456789"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.FUSION_ACCESS_KEY, settings.FUSION_PREVIOUS_ACCESS_KEYS = KEY, []


@pytest.mark.parametrize(
    "name",
    ["access_key", "%61ccess_key", "access%5Fkey", "ACCESS_KEY", "access_key[]", "%2561ccess_key",
     "Access-Key", "password", "api_key", "X-Fusion-Access-Key", "HTTP_AUTHORIZATION"],
)  # fmt: skip
def test_secret_names_are_recognised_decoded(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["wpf_action", "contact_id", "role", "accessory", "key_access"])
def test_ordinary_names_are_not(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "form",
    [KEY, quote(KEY, safe=""), quote_plus(KEY), html.escape(KEY), repr(KEY)[1:-1], json.dumps(KEY)[1:-1],
     html.escape(repr(KEY)[1:-1])],
)  # fmt: skip
def test_every_form_of_a_configured_key_is_masked_wherever_it_stands(form):
    masked = mask_text(f"free text {form} and note={form}")
    assert form not in masked and MASK in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET /?wpf_action=add&%61ccess_key={GUESS}&contact_id=1", "&%61ccess_key=***&contact_id=1"),
        (f"/?a=1&amp;access_key[]={GUESS}", "access_key[]=***"),
        (f'{{"access_key": "{GUESS}", "contact_id": 1}}', '"access_key": "***"'),
        (f"WebhookParams(access_key='{GUESS}', action='add')", "access_key='***'"),
        (f"Authorization: Bearer {GUESS}", "Bearer ***"),
        (f"password: {GUESS}", "password: ***"),
    ],
)
def test_values_under_a_secret_name_are_masked_whatever_they_are(text, expected):
    masked = mask_text(text)
    assert GUESS not in masked and expected in masked


def test_text_without_secrets_is_unchanged():
    text = "GET /?wpf_action=add&contact_id=12&role=customer HTTP/1.1 202"
    assert mask_text(text) == text


def test_mappings_and_log_records_use_the_same_function():
    assert dict(
        mask_mapping([("HTTP_X_FUSION_ACCESS_KEY", GUESS), ("QUERY_STRING", f"access_key={KEY}")])
    ) == {
        "HTTP_X_FUSION_ACCESS_KEY": MASK,
        "QUERY_STRING": f"access_key={MASK}",
    }
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", (f"%61ccess_key={GUESS}",), None)
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "sent %61ccess_key=***"
