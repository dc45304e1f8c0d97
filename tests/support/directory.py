"""A fake Ontraport for the accounts service's unit tests: the contacts it holds, and what it was asked."""

from collections.abc import Iterable

from ontraport_client import Contact, Tag


class FakeDirectory:
    def __init__(self, *contacts: Contact) -> None:
        self.contacts = {contact.id: contact for contact in contacts}
        self.calls: list[str] = []

    def get_contacts(self, ids: Iterable[int]) -> dict[int, Contact]:
        ids = list(ids)
        self.calls.append(f"get_contacts {ids}")
        return {contact_id: self.contacts[contact_id] for contact_id in ids if contact_id in self.contacts}

    def find_contact_ids_by_email(self, email: str) -> list[int]:
        self.calls.append(f"getByEmail {email}")
        # Like Ontraport's MySQL collation: case-insensitive, and loose about look-alikes (casefold).
        wanted = email.casefold()
        return sorted(c.id for c in self.contacts.values() if c.email.casefold() == wanted)

    def list_tags(self) -> list[Tag]:
        self.calls.append("list_tags")
        return []

    def fetch(self, *ids: int) -> dict[int, Contact]:
        """What the worker's GET /Contacts would return for `ids` (not counted as a lookup)."""
        return {contact_id: self.contacts[contact_id] for contact_id in ids if contact_id in self.contacts}
