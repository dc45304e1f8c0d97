"""Helpers for the admin tests: logged-in clients without paying for a password hash each time.

Django 6.1's default hasher costs ~0.7 s of CPU per hash, and pytest-django's `admin_client` hashes one per
test; these users have no usable password and are logged in with `force_login` instead.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client


def superuser_client(username: str = "root") -> Client:
    user = get_user_model().objects.create(username=username, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def staff_client(*permissions: str, username: str = "staff") -> Client:
    """A staff user holding exactly `permissions` ("webhooks.view_delivery" ...)."""
    user = get_user_model().objects.create(username=username, is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        granted = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        user.user_permissions.add(granted)
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def change_form_data(admin: Any, user: Any, **changes: Any) -> dict[str, Any]:
    """The fields a user's change page posts as it is, with `changes` (e.g. tags=["1", "4"]) over them."""
    page = admin.get(f"/admin/accounts/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if name not in ("password",)}
    data.update(
        {
            "groups": [],
            "user_permissions": [],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "last_login_0": "",
            "last_login_1": "",
        }
    )
    data.update(changes)
    return data
