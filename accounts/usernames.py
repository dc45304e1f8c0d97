"""Usernames for new users, per FUSION_USERNAME_FORMAT, with digits appended while a name is taken."""

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models.functions import Lower
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


@dataclass
class UsernamesKnown:
    """Which names are taken (lower-cased), for the first candidates of some bases, read in one query for a
    whole batch of new users (`usernames_probe`) instead of one query per user. Only valid in the
    transaction that read it: a name another worker takes meanwhile makes the user's INSERT fail, and the
    caller retries afresh."""

    probed: set[str] = field(default_factory=set)
    taken: set[str] = field(default_factory=set)


def usernames_probe(*, bases: Iterable[str]) -> UsernamesKnown:
    probed = {candidate for base in set(bases) for candidate in _first_candidates(username_candidates(base))}
    return UsernamesKnown(probed={name.lower() for name in probed}, taken=_taken(probed))


def username_first_free(base: str, *, known: UsernamesKnown | None = None) -> str:
    """The first candidate nobody has, whatever the case ("dana" is taken by "Dana"). Candidates are
    checked ten at a time; ten that `known` has probed are answered from it."""
    candidates = username_candidates(base)
    while True:
        batch = _first_candidates(candidates)
        if known is not None and known.probed.issuperset(name.lower() for name in batch):
            taken = known.taken
        else:
            taken = _taken(batch)
        for candidate in batch:
            if candidate.lower() not in taken:
                return candidate


def _taken(names: Iterable[str]) -> set[str]:
    """The lower-cased `names` some user has, whatever the case. The username has no case-insensitive
    index, so this scans the users: a batch of new users asks once (`usernames_probe`), not once each."""
    lowered = {name.lower() for name in names}
    if not lowered:
        return set()
    users = User.objects.alias(username_lower=Lower("username")).filter(username_lower__in=lowered)
    return {name.lower() for name in users.values_list("username", flat=True)}


def _first_candidates(candidates: Iterator[str]) -> list[str]:
    return [next(candidates) for _ in range(10)]
