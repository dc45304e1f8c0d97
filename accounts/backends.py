"""`user.has_perm("tags.Members")`: Django's own permission checks (`permission_required`,
`PermissionRequiredMixin`, `{% if perms.tags.Members %}`) answered from the user's tags.

Listed after ModelBackend in AUTHENTICATION_BACKENDS. It authenticates nobody and answers only
permissions of the pseudo app label "tags" (no app has that label), so every other permission is still
ModelBackend's alone. As for any permission, Django answers True for an active superuser before asking a
backend; the `tags_required` guards check tags only (docs/content-guards.md).
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import BaseBackend

from accounts.tag_guards import user_tags_read

TAG_PERMISSION_APP = "tags"


class TagPermissionBackend(BaseBackend):
    def has_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        app_label, _, name = perm.partition(".")
        # Object permissions are not a tag's business; a name may itself hold dots ("v2.0 Beta").
        if obj is not None or app_label != TAG_PERMISSION_APP or not name:
            return False
        return user_tags_read(user=user_obj).has(name)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        """`{% if perms.tags %}`: the user holds any tag."""
        return app_label == TAG_PERMISSION_APP and bool(user_tags_read(user=user_obj).ids)

    def get_user_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        """`tags.<name>` for each named tag the user holds (BaseBackend's get_all_permissions includes it)."""
        if obj is not None:
            return set()
        return {f"{TAG_PERMISSION_APP}.{name}" for name in user_tags_read(user=user_obj).ids_by_name}

    # Django's async checks (`await user.ahas_perm(...)`) ask these; the answers are the sync ones, run off
    # the event loop since the first reads the database.
    async def ahas_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        return await sync_to_async(self.has_perm)(user_obj, perm, obj)

    async def ahas_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return await sync_to_async(self.has_module_perms)(user_obj, app_label)
