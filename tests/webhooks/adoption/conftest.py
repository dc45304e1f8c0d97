"""Fixtures for runs: the site's bulk client pointed at the sandbox too, and tagged contacts in bulk."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def bulk_sandbox(site_sandbox: Any, settings: Any) -> Iterator[Any]:
    """`site_sandbox`, with the imports' and resyncs' client (its own pacer) pointed at it as well."""
    from accounts.ontraport import ontraport_bulk_client

    ontraport_bulk_client.cache_clear()
    yield site_sandbox
    ontraport_bulk_client.cache_clear()


@pytest.fixture
def tagged_contacts(bulk_sandbox: Any) -> Callable[..., list[int]]:
    """`tagged_contacts(120, tag_id=1)`: that many new contacts holding the tag; returns their ids."""

    def add(count: int, *, tag_id: int = 1, prefix: str = "bulk") -> list[int]:
        return list(
            bulk_sandbox.add_contacts(
                [
                    {
                        "firstname": f"Bulk{n}",
                        "lastname": "Contact",
                        "email": f"{prefix}{n}@example.com",
                        "contact_cat": f"*/*{tag_id}*/*",
                    }
                    for n in range(count)
                ]
            )
        )

    return add
