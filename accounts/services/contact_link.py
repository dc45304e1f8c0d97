"""Linking a user to an Ontraport contact by hand: the only way a protected user (staff, superuser) is
linked, since webhooks never link or change them."""

from django.db import transaction

from accounts.models import User
from ontraport_client import NotFoundError, OntraportClient


class LinkRefused(Exception):
    """The link cannot be made; the message says why, in words for the admin."""


@transaction.atomic
def user_link_contact(*, user: User, contact_id: int | None, client: OntraportClient | None = None) -> User:
    """Link `user` to contact `contact_id` (None: unlink). With a `client`, the contact must exist in
    Ontraport. Refused when another user is linked to that contact: one user per contact, always."""
    if contact_id is not None:
        if contact_id <= 0:
            raise LinkRefused("A contact id is a positive whole number.")
        holder = User.objects.select_for_update().filter(contact_id=contact_id).exclude(pk=user.pk).first()
        if holder is not None:
            raise LinkRefused(f"Contact {contact_id} is already linked to user {holder.get_username()}.")
        if client is not None:
            try:
                client.get_contact(contact_id)
            except NotFoundError:
                raise LinkRefused(f"Ontraport has no contact {contact_id}.") from None
    user.contact_id = contact_id
    user.save(update_fields=["contact_id"])
    return user
