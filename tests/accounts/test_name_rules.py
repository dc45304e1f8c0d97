"""The small rules behind usernames and password fields, one table each (the attacks over HTTP are in
tests/reliability/test_boundaries.py)."""

import pytest

from accounts.identity import username_key, username_skeleton
from accounts.models import names_a_password


@pytest.mark.parametrize(
    ("text", "is_password"),
    [
        ("Site Password", True),
        ("PASSWORD", True),
        ("sitepassword", True),
        ("user_pwd", True),
        ("sitePwd", True),
        ("Member Pass", True),
        ("passwd", True),
        ("Passport", False),
        ("Compass", False),
        ("Bypass code", False),
        ("f1536", False),
        ("First Name", False),
    ],
)
def test_what_names_a_password(text, is_password):
    assert names_a_password(text) is is_password


@pytest.mark.parametrize(
    ("one", "other", "alike"),
    [
        ("root", "r\u043e\u043et", True),  # Cyrillic o
        ("root", "R\u03bf\u03bfT", True),  # Greek omicron, any case
        ("root", "r00t", True),
        ("admin", "adm\u0456n", True),  # Cyrillic i
        ("admin", "\uff41dmin", True),  # full-width a (NFKC)
        ("rootl", "root1", True),
        ("alice", "alicia", False),
        ("root", "rooted", False),
    ],
)
def test_confusables_skeleton(one, other, alike):
    assert (username_skeleton(one) == username_skeleton(other)) is alike


def test_the_username_key_agrees_whatever_the_database():
    assert username_key("\u00c9mile") == username_key("\u00e9mile") == username_key("E\u0301mile".upper())
    assert username_key("Dana") == username_key("DANA") != username_key("Dan")
