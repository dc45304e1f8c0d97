"""Roles are Django groups. A webhook may pick a role for a user, never an administrative one."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group

# Names that are never granted from a webhook, whatever groups exist (WP Fusion refuses administrator).
FORBIDDEN_ROLES = frozenset({"administrator", "admin", "superuser", "staff"})


@dataclass(frozen=True)
class RoleChoice:
    group: Group
    refused: str  # why the requested role was not used (the group is then the default), or ""


def role_resolve(*, requested: str) -> RoleChoice:
    """The group for a requested role name, or the default role with the reason it was not used."""
    requested = requested.strip()
    default = role_default_group()
    if not requested or requested.lower() == default.name.lower():
        return RoleChoice(group=default, refused="")
    if requested.lower() in FORBIDDEN_ROLES:
        return RoleChoice(group=default, refused=f"role {requested!r} is never granted by a webhook")
    group = Group.objects.filter(name__iexact=requested).first()
    if group is None:
        return RoleChoice(group=default, refused=f"role {requested!r} does not exist")
    return RoleChoice(group=group, refused="")


def role_default_group() -> Group:
    group, _ = Group.objects.get_or_create(name=settings.FUSION_DEFAULT_ROLE)
    return group
