"""`manage.py check` says when the default role carries permissions (every new user would get them, so the
accounts service refuses to give it and new users get no role until it is fixed), and when an enabled
mapping copies a password into profiles (enabled before the admin refused it: its values are skipped)."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError
from django.urls import get_resolver

from accounts.models import FieldMapping, Tag
from accounts.services.roles import role_memo_clear, role_refusal


@register("fusion_roles")
def default_role_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        group = Group.objects.filter(name=settings.FUSION_DEFAULT_ROLE).first()
        refused = role_refusal(group=group, default=True) if group is not None else ""
    except DatabaseError:
        return []  # no database yet (before `migrate`, or unreachable): other checks and commands say so
    finally:
        role_memo_clear()  # the check's read of permissions must not outlive it in a long process
    if not refused:
        return []
    return [
        Warning(
            f"The default role {settings.FUSION_DEFAULT_ROLE!r} (FUSION_DEFAULT_ROLE) {refused}: webhooks "
            "give new users no role while it does.",
            hint="Remove the group's permissions in the admin (Groups), or set another FUSION_DEFAULT_ROLE.",
            id="fusion.W010",
        )
    ]


@register("fusion_mappings")
def password_profile_mapping_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        mappings = [m for m in FieldMapping.objects.filter(enabled=True) if m.is_password_profile]
    except DatabaseError:
        return []
    return [
        Warning(
            f"The field mapping {mapping} is enabled but its field holds a password: its values are never "
            "stored as profile values.",
            hint="Disable it in the admin (Field mappings), or map it to the user attribute password.",
            obj=mapping,
            id="fusion.W011",
        )
        for mapping in mappings
    ]


@register("fusion_tag_guards")
def unknown_guard_tags_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A `tags_required` / `TagsRequiredMixin` guard naming a tag no Tag row has lets nobody in: say so.
    (Names in templates and in has_perm are not known to the site until they are used.)"""
    from accounts.tag_guards import guarded_tags

    try:
        # The guards register their tags when the views' modules are imported, i.e. with the URLconf.
        get_resolver().check()
    except Exception:  # a broken URLconf is Django's own check's to report (urls.E004 ...)
        return []
    names = {tag for tag in guarded_tags if isinstance(tag, str)}
    ids = {tag for tag in guarded_tags if isinstance(tag, int)}
    try:
        known: set[object] = set(Tag.objects.filter(name__in=names).values_list("name", flat=True))
        known |= set(Tag.objects.filter(id__in=ids).values_list("id", flat=True))
    except DatabaseError:
        return []
    return [
        Warning(
            f"A tag guard requires the tag {tag!r}, which no known tag "
            f"{'has as its id' if isinstance(tag, int) else 'is named'}: it lets nobody in until one does.",
            hint="Correct the guard, or load Ontraport's tag list (`manage.py ontraport_sync_tags`).",
            id="fusion.W012",
        )
        for tag in sorted(guarded_tags - known, key=str)
    ]
