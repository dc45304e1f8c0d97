"""Read-only queries: users (for the admin's neighbours: management commands, support scripts) and the
Ontraport fields the enabled mappings read."""

from typing import Any

from accounts.identity import email_key
from accounts.models import FieldMapping, User


def user_find(*, email_or_contact_id: str) -> User | None:
    """The user with this Ontraport contact id (a whole number) or e-mail address (compared on its
    normalised key, accounts.identity.email_key, as everywhere)."""
    term = email_or_contact_id.strip()
    users = User.objects.prefetch_related("groups", "tags")
    if term.isascii() and term.isdigit():
        return users.filter(contact_id=int(term)).first()
    key = email_key(term)
    return users.filter(email_key=key).first() if key else None


def user_summary(*, user: User) -> dict[str, Any]:
    """What the site knows about a user from Ontraport, as plain JSON-ready values."""
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "contact_id": user.contact_id,
        "roles": sorted(group.name for group in user.groups.all()),
        "tags": sorted(tag.name or f"Tag {tag.pk}" for tag in user.tags.all()),
        "profile": dict(user.profile),
        "is_active": user.is_active,
    }


def field_mapping_sources() -> list[str]:
    """The Ontraport fields enabled mappings read: what contact list calls ask for beyond the ids, e-mail,
    names and tags (listFields), so answers carry no more than the site uses."""
    return list(FieldMapping.objects.filter(enabled=True).values_list("ontraport_field", flat=True))
