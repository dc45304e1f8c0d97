"""Identifiers compared on ONE normalised form, computed here in Python (docs/identity.md).

The database's LOWER/UPPER fold Unicode differently on SQLite (ASCII only) and PostgreSQL (the locale's
rules: dotless i U+0131 → I, long s U+017F → S), and Python's own case folding maps the Kelvin sign
U+212A to k. Any of them on one side of a comparison lets a look-alike address reach someone else's
account. So every comparison of e-mail addresses, and the uniqueness rule, uses `email_key`, which folds
only what mail systems really treat as the same: the case of ASCII letters, and the domain's IDNA form.
"""

import re
import unicodedata
from functools import lru_cache

import idna

EMAIL_MAX = 254
LOCAL_PART_MAX = 64
# Unicode categories that never belong in an address: control (NUL, ...), format (zero-width joiners,
# bidi overrides), surrogates, private use, unassigned, line and paragraph separators, spaces.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# A plain ASCII host name label (letters, digits, inner hyphens): the common case, checked without the
# (slow) IDNA machinery. Labels starting "xn--" still go through it, so their punycode is validated.
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def ascii_lower(text: str) -> str:
    """Lower-case the ASCII letters of `text` and nothing else (no Kelvin sign → k, no İ → i̇)."""
    return text.translate(_ASCII_UPPER)


# Memoised: one batch asks for the same few keys many times. Bounded small, so a long import of 50,000
# addresses does not grow the worker's memory (it did with 65,536 entries: +10 MB).
@lru_cache(maxsize=4096)
def email_key(address: str) -> str | None:
    """The form an e-mail address is compared and kept unique on, or None when it is not a usable address.

    Trimmed; the domain's ASCII letters lower-cased and the domain IDNA-encoded (strict IDNA 2008, which
    refuses full-width letters, the Kelvin sign and other compatibility look-alikes); the local part's
    ASCII letters lower-cased and every other character kept exactly as sent. An address with an invisible
    or control character anywhere (zero-width, bidi, NUL, spaces) is refused, as is a trailing dot.
    """
    address = address.strip()
    if not address or len(address) > EMAIL_MAX:
        return None
    if any(unicodedata.category(character) in _INVISIBLE for character in address):
        return None
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(local) > LOCAL_PART_MAX or "@" in local:
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if domain.startswith(".") or domain.endswith(".") or "." not in domain:
        return None
    ascii_domain = _domain_key(ascii_lower(domain))
    if ascii_domain is None:
        return None
    key = f"{ascii_lower(local)}@{ascii_lower(ascii_domain)}"
    return key if len(key) <= EMAIL_MAX else None


def _domain_key(domain: str) -> str | None:
    labels = domain.split(".")
    if domain.isascii() and all(
        _LDH_LABEL.fullmatch(label) and not label.startswith("xn--") for label in labels
    ):
        return domain
    try:
        return idna.encode(domain, uts46=False).decode("ascii")
    except idna.IDNAError:
        return None


def username_key(name: str) -> str:
    """The form usernames are compared on for "taken": NFKC, then Python's full case folding (so `Émile`
    and `émile`, `Dana` and `DANA` are one name on SQLite and PostgreSQL alike). Folding more than mail
    systems do is right here: a username taken by a look-alike is only a name refused, never an account
    reached (accounts are found by contact id and e-mail key, never by username)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


@lru_cache(maxsize=4096)
def username_skeleton(name: str) -> str:
    """Unicode's confusables skeleton of a username (UTS #39, from the confusables data that
    confusable-homoglyphs ships): `r\u043e\u043et` (Cyrillic o) and Latin `root` have one skeleton.
    Two names with one skeleton look alike on a screen; a new user is never given one that looks like a
    staff user's or superuser's name."""
    # Mapped before case folding (capital I and digit 1 look like l) and after it (0 → O → o).
    mapped = _prototypes(unicodedata.normalize("NFD", unicodedata.normalize("NFKC", name)))
    return unicodedata.normalize("NFD", _prototypes(unicodedata.normalize("NFD", mapped.casefold())))


def _prototypes(text: str) -> str:
    return "".join(_prototype(character) for character in text)


def _prototype(character: str) -> str:
    return _prototype_map().get(character, character)


@lru_cache(maxsize=1)
def _prototype_map() -> dict[str, str]:
    """Each confusable character's one-character prototype, built once, on first use, from the data file
    confusable-homoglyphs ships. Read here rather than through its module, which keeps the whole file
    parsed in every process (7 MB of RSS measured); the map kept is a fraction of that.

    The data lists, for a confusable character, its one prototype; for a prototype, all that look like
    it. A pair that lists only each other is read as the smaller of the two, so both map alike."""
    import json
    from importlib.resources import files

    data: dict[str, list[dict[str, str]]] = json.loads(
        files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8")
    )
    single = {
        character: entries[0]["c"]
        for character, entries in data.items()
        if len(entries) == 1 and len(entries[0]["c"]) == 1
    }
    prototypes: dict[str, str] = {}
    for character in single:
        target = character
        for _ in range(3):  # chains are short: follow a few steps, never loop
            following = single.get(target)
            if following is None:
                break
            if single.get(following) == target:  # a pair listing only each other
                target = min(target, following)
                break
            target = following
        if target != character:
            prototypes[character] = target
    return prototypes
