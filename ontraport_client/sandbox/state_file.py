"""The sandbox's account kept in a file across restarts (``--state FILE``; `make run` uses var/).

Without it each start reseeds the account: contacts created or changed while it ran are gone and their
ids are handed out again, while a site keeps its users linked to the old ids, so a new contact's `add`
would rewrite another person's user. With it the contacts, tags, field meta and the highest id ever
given survive a restart (ids are never reused, as Ontraport's are not). Written after every request that
may change the account, atomically (a temporary file renamed over the old one). Webhook subscriptions,
faults and stats are not kept.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .seed import SeedData, SeedSource, load_seed, parse_seed
from .store import ContactStore

_write_lock = threading.Lock()


def state_load(path: Path, *, fallback: SeedSource) -> tuple[SeedData, int]:
    """The saved account and the highest contact id it ever gave; the `fallback` seed when none is saved."""
    if not path.exists():
        return load_seed(fallback), 0
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return parse_seed(data), int(data.get("highest_contact_id", 0))


def state_save(store: ContactStore, path: Path) -> None:
    data = store.snapshot()
    with _write_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
