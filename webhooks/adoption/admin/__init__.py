"""Runs in the admin (runs.py), and where the Users and Tags pages are put together and registered, once.

Each page is accounts' admin (accounts.admin.users, accounts.admin.tags) with what each layer above adds and
owns: webhooks the way in (webhooks.accounts_admin: "Subscribe", a user's deliveries), this app imports and
resyncs (imports.py, resyncs.py). The bases are listed top layer first, so each layer's `super()` reaches
the one below it, and the page's template is the top layer's, which extends the one below it
(admin/adoption/user_change_form.html → admin/webhooks/… → admin/accounts/user/change_form.html). The
actions are listed here, in the order the page offers them.
"""

from django.contrib import admin

from accounts.admin.tags import TagAdmin as AccountsTagAdmin
from accounts.admin.users import UserAdmin as AccountsUserAdmin
from accounts.models import Tag, User
from webhooks.accounts_admin import DeliveriesOfUserLink, SubscribeTagsInOntraport
from webhooks.adoption.admin import runs  # noqa: F401 - registers the Runs admin
from webhooks.adoption.admin.imports import ImportUsersWithTag
from webhooks.adoption.admin.resyncs import ResyncFromOntraport


@admin.register(Tag)
class TagAdmin(ImportUsersWithTag, SubscribeTagsInOntraport, AccountsTagAdmin):
    """Tags: accounts' list and "Refresh tag names from Ontraport", webhooks' "Subscribe", and "Import users
    with this tag"."""

    actions = (*AccountsTagAdmin.actions, "subscribe_in_ontraport", "import_users_with_tag")


@admin.register(User)
class UserAdmin(ResyncFromOntraport, DeliveriesOfUserLink, AccountsUserAdmin):
    """Users: accounts' list and user page (tags, profile, "Link to Ontraport contact"), webhooks' link to the
    user's deliveries, and "Resync from Ontraport" (the action and the user page's button)."""

    actions = (*AccountsUserAdmin.actions, "resync_from_ontraport")
