"""Roles are Django groups. A webhook may pick a role for a user, never an administrative one.

Symmetric: a webhook grants and removes only the groups it may grant (`role_refusal` is ""), so a group
the owner gave by hand that carries permissions is never taken away by `update&role=customer`. The default
role passes the same check: a default that carries permissions is not given (and `manage.py check` says so).

The role text comes from a URL anyone with the key can write, so it is only ever used to *find* a group:
every check runs on the group it resolved to (its real name and its permissions), and the name is matched
in Python with ASCII-only case folding (accounts.identity.ascii_lower) — never the database's iexact,
which folds dotless i (U+0131) to I and long s (U+017F) to S on PostgreSQL (`role=adm%C4%B1n` found the
group `Admin`).
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group

from accounts.identity import ascii_lower

# Names that are never granted from a webhook, whatever groups exist (WP Fusion refuses administrator).
FORBIDDEN_ROLES = frozenset({"administrator", "admin", "superuser", "staff"})


@dataclass(frozen=True)
class RoleChoice:
    # The group to give: the requested one, else the default role; None when the default role itself may
    # not be given by a webhook (it carries permissions, or has an administrative name).
    group: Group | None
    refused: str  # why the requested role (or the default) was not used, or ""


def role_resolve(*, requested: str) -> RoleChoice:
    """The group for a requested role name, or the default role with the reason it was not used."""
    requested = requested.strip()
    default = role_default_group()
    default_refused = role_refusal(group=default, default=True)
    fallback = RoleChoice(
        group=None if default_refused else default,
        refused=f"the default role {default.name!r} {default_refused}" if default_refused else "",
    )
    if not requested or ascii_lower(requested) == ascii_lower(default.name):
        return fallback
    group = _group_named(requested)
    if group is None or group.pk == default.pk:
        why = "" if group is not None else f"role {requested!r} does not exist"
        return RoleChoice(group=fallback.group, refused=_joined(why, fallback.refused))
    refused = role_refusal(group=group)
    if refused:
        return RoleChoice(
            group=fallback.group, refused=_joined(f"role {requested!r} {refused}", fallback.refused)
        )
    return RoleChoice(group=group, refused="")


def _joined(*reasons: str) -> str:
    return "; ".join(reason for reason in reasons if reason)


def role_refusal(*, group: Group, default: bool = False) -> str:
    """Why a webhook may not grant (nor remove) `group`, or "" when it may. Decided on the group, not on
    the request. The default role (`default`) is the owner's own setting, so it need not be listed in
    FUSION_ALLOWED_ROLES, but it passes every other rule."""
    name = ascii_lower(group.name)
    allowed = {ascii_lower(role) for role in settings.FUSION_ALLOWED_ROLES}
    if name in FORBIDDEN_ROLES:
        return "is never granted by a webhook"
    if allowed and name not in allowed and not default:
        return "is not in FUSION_ALLOWED_ROLES"
    if name not in allowed and _group_has_permissions(group):
        return "carries permissions (list it in FUSION_ALLOWED_ROLES to allow it)"
    return ""


def role_groups_after(*, current: list[Group], granted: Group) -> set[int]:
    """The group ids a user has once a webhook gives it `granted`: the groups a webhook may manage are
    replaced by `granted` (one role at a time, as WP Fusion does), every other group is kept: one the owner
    granted by hand that carries permissions, an administrative one, one outside FUSION_ALLOWED_ROLES."""
    default_pk = role_default_group().pk
    kept = {
        group.pk
        for group in current
        if role_refusal(group=group, default=group.pk == default_pk) and group.pk != granted.pk
    }
    return kept | {granted.pk}


def _group_named(requested: str) -> Group | None:
    """The group whose name is `requested`, exactly, else equal to it but for the case of ASCII letters."""
    groups = _groups()
    exact = [group for group in groups if group.name == requested]
    if exact:
        return exact[0]
    wanted = ascii_lower(requested)
    folded = [group for group in groups if ascii_lower(group.name) == wanted]
    return folded[0] if len(folded) == 1 else None  # two names equal but for case: refuse to guess


# Groups and the default role's group, remembered for one batch of contacts (the accounts service calls
# role_memo_clear before each): a burst of new users would otherwise read the same rows once per user.
_groups_memo: list[Group] = []
_default_groups: dict[str, Group] = {}
_with_permissions: dict[int, bool] = {}


def _groups() -> list[Group]:
    if not _groups_memo:
        _groups_memo.extend(Group.objects.order_by("pk"))
    return _groups_memo


def _group_has_permissions(group: Group) -> bool:
    if group.pk not in _with_permissions:
        _with_permissions[group.pk] = group.permissions.exists()
    return _with_permissions[group.pk]


def role_default_group() -> Group:
    name = settings.FUSION_DEFAULT_ROLE
    if name not in _default_groups:
        group, created = Group.objects.get_or_create(name=name)
        if created:
            return group  # not remembered: the transaction that created it may still roll back
        _default_groups[name] = group
    return _default_groups[name]


def role_memo_clear() -> None:
    _groups_memo.clear()
    _default_groups.clear()
    _with_permissions.clear()
