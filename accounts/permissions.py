"""Who may change users, decided as the admin decides it: by Django permissions, never by the staff flag
alone.

Everything that creates or changes users — the Ontraport page's test webhook, an import, a resync, linking a
contact by hand, replaying a delivery — takes the permissions the admin's own user pages take for the same
change (`accounts.add_user` to create, `accounts.change_user` to change). One function per kind of change,
so every view and action asks the same question; what deliveries need besides is webhooks.permissions'.
"""

from django.contrib.auth import get_user_model
from django.http import HttpRequest


def _user_permission(action: str) -> str:
    opts = get_user_model()._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def can_add_users(request: HttpRequest) -> bool:
    """May create users: what the admin's "Add user" takes."""
    return bool(request.user.is_active and request.user.has_perm(_user_permission("add")))


def can_change_users(request: HttpRequest) -> bool:
    """May change existing users: what saving a user's admin page takes."""
    return bool(request.user.is_active and request.user.has_perm(_user_permission("change")))


def can_add_and_change_users(request: HttpRequest) -> bool:
    """May run what can both create users and rewrite existing ones: an `add` (it may link an existing,
    unlinked user by e-mail and overwrite its names, tags and role), an import, a replay."""
    return can_add_users(request) and can_change_users(request)
