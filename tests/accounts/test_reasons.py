"""Failure reasons are one typed list: the model's choices, and the README's table, say the same."""

import re

from accounts.reasons import WHAT_TO_DO, FailureReason
from tests.support.paths import BASE_DIR
from webhooks.models import Delivery

README = BASE_DIR / "README.md"


def test_the_readme_table_names_every_reason_and_no_other():
    text = README.read_text()
    table = text[text.index("| reason | status |") :]
    table = table[: table.index("\n\n")]
    named = set(re.findall(r"`([a-z_]+)`", table)) - {"FUSION_MAX_ATTEMPTS", "ONTRAPORT_APP_ID"}
    named = {name for name in named if name.islower() and "fusion" not in name and name != "add"}
    named -= {"update", "update_tags"}
    assert named == set(FailureReason.values)


def test_the_delivery_model_takes_its_reasons_from_the_list():
    assert Delivery._meta.get_field("reason").choices == FailureReason.choices


def test_every_failure_says_what_to_do():
    failures = set(FailureReason.values) - {
        FailureReason.RETRYING,
        FailureReason.NO_MATCHING_USER,
        FailureReason.MISSING_ACTION,
        FailureReason.UNKNOWN_ACTION,
        FailureReason.MISSING_CONTACT_ID,
        FailureReason.INVALID_CONTACT_ID,
        FailureReason.AMBIGUOUS_PARAMETER,
        FailureReason.MISSING_EVENT,
        FailureReason.UNKNOWN_EVENT,
        FailureReason.UNSUPPORTED_OBJECT,
        FailureReason.BODY_TOO_LARGE,
        FailureReason.INVALID_JSON,
        FailureReason.INVALID_BODY,
        FailureReason.FILES_NOT_ACCEPTED,
    }
    assert failures == set(WHAT_TO_DO)


def test_the_delivery_actions_are_the_services_actions_plus_test_and_invalid():
    from accounts.services.contacts_apply import SyncAction

    assert set(Delivery.Action.values) == {*SyncAction, "test", "invalid"}
