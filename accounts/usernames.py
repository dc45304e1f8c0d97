"""Usernames for new users, per FUSION_USERNAME_FORMAT, with digits appended while a name is taken.

"Taken" is decided on one key computed in Python (accounts.identity.username_key, stored as
User.username_key), so SQLite and PostgreSQL agree; and a name that looks like a staff user's or a
superuser's (the same confusables skeleton: `r\u043e\u043et` (Cyrillic o) beside `root`) counts as taken too.
"""

import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.text import slugify

from accounts.identity import username_key, username_skeleton
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
    return username_clean(base or email)[:USERNAME_MAX] or "user"


# What Django's UnicodeUsernameValidator accepts, one character at a time: letters, digits, @ . + - _
_NOT_USERNAME_CHARACTER = re.compile(r"[^\w.@+-]")


def username_clean(text: str) -> str:
    """NFKC (as Django's forms do), with every character the validator refuses left out: a generated
    name (from an e-mail or a contact's names) is always one the admin can save."""
    return _NOT_USERNAME_CHARACTER.sub("", unicodedata.normalize("NFKC", text.strip()))


def username_refusal(name: str) -> str:
    """Why `name` (stripped and NFKC'd already) is not a username the site gives, or "" when it is one."""
    if not name:
        return "is empty"
    if len(name) > USERNAME_MAX:
        return f"is longer than {USERNAME_MAX} characters"
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError:
        return "has characters a username cannot have (letters, digits and @ . + - _ only)"
    return ""


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
    """Which names are taken (their username_key), for the first candidates of some bases, read in one
    query for a whole batch of new users (`usernames_probe`) instead of one query per user, and the
    skeletons of the staff's and superusers' names. Only valid in the transaction that read it: a name
    another worker takes meanwhile makes the user's INSERT fail, and the caller retries afresh."""

    probed: set[str] = field(default_factory=set)
    taken: set[str] = field(default_factory=set)
    protected_skeletons: set[str] | None = None  # None: not read yet


def usernames_probe(*, bases: Iterable[str]) -> UsernamesKnown:
    probed = {candidate for base in set(bases) for candidate in _first_candidates(username_candidates(base))}
    protected = protected_skeletons()
    return UsernamesKnown(
        probed={username_key(name) for name in probed},
        taken=_taken(probed, protected),
        protected_skeletons=protected,
    )


def username_first_free(base: str, *, known: UsernamesKnown | None = None) -> str:
    """The first candidate nobody has, whatever the case or the Unicode form ("dana" is taken by "Dana",
    "émile" by "Émile"), and that looks like no staff user's name. Candidates are checked ten at a time;
    ten that `known` has probed are answered from it."""
    candidates = username_candidates(base)
    while True:
        batch = _first_candidates(candidates)
        if known is not None and known.probed.issuperset(username_key(name) for name in batch):
            taken = known.taken
        else:
            protected = known.protected_skeletons if known is not None else None
            taken = _taken(batch, protected if protected is not None else protected_skeletons())
        for candidate in batch:
            if username_key(candidate) not in taken:
                return candidate


def protected_skeletons() -> set[str]:
    """The confusables skeletons of every staff user's and superuser's name (a handful of rows)."""
    names = User.objects.filter(Q(is_staff=True) | Q(is_superuser=True)).values_list("username", flat=True)
    return {username_skeleton(name) for name in names}


def username_looks_protected(name: str, *, known: UsernamesKnown | None = None) -> bool:
    protected = known.protected_skeletons if known is not None else None
    return username_skeleton(name) in (protected if protected is not None else protected_skeletons())


def _taken(names: Iterable[str], protected: set[str]) -> set[str]:
    """The keys of `names` some user has (one indexed lookup on username_key), plus those of `names` that
    look like a staff user's or superuser's name."""
    names = set(names)
    keys = {username_key(name) for name in names}
    if not keys:
        return set()
    taken = {
        key
        for key in User.objects.filter(username_key__in=keys).values_list("username_key", flat=True)
        if key
    }
    if protected:
        taken |= {username_key(name) for name in names if username_skeleton(name) in protected}
    return taken


def _first_candidates(candidates: Iterator[str]) -> list[str]:
    return [next(candidates) for _ in range(10)]
