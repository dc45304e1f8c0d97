"""The page's effective settings show FUSION_RESYNC_EVERY the way the environment writes it."""

import datetime

import pytest

from webhooks.console.effective_settings import effective_settings


@pytest.mark.parametrize(
    ("every", "shown"),
    [
        (datetime.timedelta(hours=24), "24h"),
        (datetime.timedelta(days=2), "48h"),
        (datetime.timedelta(minutes=90), "90m"),
        (datetime.timedelta(seconds=45), "45s"),
        (datetime.timedelta(seconds=1.5), "1.5s"),
        (datetime.timedelta(0), "0"),
    ],
)
def test_the_sweep_interval_is_shown_in_its_largest_whole_unit(settings, every, shown):
    settings.FUSION_RESYNC_EVERY = every
    rows = {row.name: row.value for row in effective_settings()}
    assert rows["FUSION_RESYNC_EVERY"] == shown
