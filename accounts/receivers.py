"""The one signal the site listens to for the way out: a user created on the site.

A site's sign-up view is its own (django-allauth, a form of its own, the admin's "Add user"), so a new
user is noticed where every one of them passes, like WP Fusion's user_register hook. Thin: the decision
(who gets a contact, how) is accounts.services.outbox.user_contact_create's.
"""

from typing import Any

from django.conf import settings

from accounts.models import User
from accounts.services.outbox import user_contact_create


def user_created(sender: type[User], instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    # A user made from a contact already carries its contact_id (accounts.services.user_apply): only users
    # who signed up on the site are without one. Fixtures (raw) are data being loaded, not sign-ups.
    if created and not raw and instance.contact_id is None and settings.FUSION_PUSH_NEW_USERS:
        user_contact_create(user=instance)
