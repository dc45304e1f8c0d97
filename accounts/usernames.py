"""Usernames for new users, per FUSION_USERNAME_FORMAT, with digits appended while a name is taken."""

import secrets
from collections.abc import Iterator

from django.utils.text import slugify

from accounts.models import User

USERNAME_MAX = User._meta.get_field("username").max_length or 150


def username_base(*, email: str, first_name: str, last_name: str, username_format: str) -> str:
    """The name to try first. Falls back to the e-mail when the contact has no usable name."""
    if username_format == "firstname_lastname":
        base = slugify(f"{first_name}{last_name}").replace("-", "")
    elif username_format == "firstname_random":
        first = slugify(first_name).replace("-", "")
        base = f"{first}{secrets.randbelow(9000) + 1000}" if first else ""
    else:
        base = ""
    return (base or email)[:USERNAME_MAX]


def username_candidates(base: str) -> Iterator[str]:
    """base, base1, base2 ... (WP Fusion appends digits the same way)."""
    yield base
    for n in range(1, 10_000):
        suffix = str(n)
        yield base[: USERNAME_MAX - len(suffix)] + suffix
    # A name taken ten thousand times over: fall back to a random suffix rather than loop forever.
    while True:
        suffix = secrets.token_hex(4)
        yield base[: USERNAME_MAX - len(suffix)] + suffix


def username_first_free(base: str) -> str:
    """The first candidate nobody has. Candidates are checked ten at a time by exact name, which the
    username's unique index answers directly (a prefix or case-insensitive match would scan the table)."""
    candidates = username_candidates(base)
    while True:
        batch = [next(candidates) for _ in range(10)]
        taken = set(User.objects.filter(username__in=batch).values_list("username", flat=True))
        for candidate in batch:
            if candidate not in taken:
                return candidate
