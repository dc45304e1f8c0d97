"""The admin as staff use it: logged-in test clients without paying for a password hash each time, the
messages a page shows, a user's change form as it posts, and the admin's history of an object.

Django 6.1's default hasher costs ~0.7 s of CPU per hash, and pytest-django's `admin_client` hashes one per
test; these users have no usable password and are logged in with `force_login` instead.
"""

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from tests.support.factories import StaffFactory, SuperuserFactory

# What the admin's user pages take to create and change users (and what starting a sync from it takes).
ADD_CHANGE = ("accounts.add_user", "accounts.change_user")


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def superuser_client(username: str = "root") -> Client:
    # No e-mail: an owner's account never matches a contact's address by accident.
    return _logged_in(SuperuserFactory(username=username, email=""))


def staff_client(*permissions: str, username: str = "staff") -> Client:
    """A staff user holding exactly `permissions` ("webhooks.view_delivery" ...)."""
    user = StaffFactory(username=username, email="")
    grant(user, *permissions)
    return _logged_in(user)


def grant(user: Any, *permissions: str) -> None:
    """Give `user` these permissions ("accounts.change_user" ...), each by hand."""
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


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


def history_of(obj: Any) -> list[tuple[str, str]]:
    """The admin's history of `obj`: (who, what) per entry."""
    rows = LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name)
    return list(rows.values_list("user__username", "change_message"))
