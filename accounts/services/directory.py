"""What the accounts services ask Ontraport: the configured OntraportClient answers it, tests pass a fake."""

from collections.abc import Iterable
from typing import Protocol

from ontraport_client import Contact, Tag


class ContactDirectory(Protocol):
    def get_contacts(self, ids: Iterable[int]) -> dict[int, Contact]: ...

    def find_contact_ids_by_email(self, email: str) -> list[int]: ...

    def list_tags(self) -> list[Tag]: ...
