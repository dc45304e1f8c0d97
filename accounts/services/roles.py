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


# The default role's group, remembered for one worker batch (the worker calls role_memo_clear before each):
# a burst of new users would otherwise read the same row once per user. A sync that fails with an
# IntegrityError clears it too, in case the group was deleted meanwhile.
_default_groups: dict[str, Group] = {}


def role_default_group() -> Group:
    name = settings.FUSION_DEFAULT_ROLE
    if name not in _default_groups:
        group, created = Group.objects.get_or_create(name=name)
        if created:
            return group  # not remembered: the transaction that created it may still roll back
        _default_groups[name] = group
    return _default_groups[name]


def role_memo_clear() -> None:
    _default_groups.clear()
