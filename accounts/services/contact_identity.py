"""Which user is this contact? The identity rules of docs/identity.md, decided in one place.

1. The user linked to the contact's id is its user.
2. Else the one user whose e-mail key (accounts.identity.email_key) equals the contact's — only if that user
   is unprotected (staff and superusers are linked by hand) and unlinked, or linked to a contact that no
   longer exists in Ontraport (merged into another, or deleted).
3. Else nobody: an `add` creates a user, anything else has no user to apply to.

What needs Ontraport (does the contact a user is linked to still exist? which contact has this user's
e-mail now?) is asked *before* the batch's transaction opens (`identity_lookups`), so no row lock is held
across an HTTP call, and at most a few calls are spent per batch: none when nothing is in doubt.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from accounts.identity import email_key
from accounts.models import User
from accounts.reasons import FailureReason
from accounts.services.batch import UsersLoaded
from accounts.services.directory import ContactDirectory
from ontraport_client import Contact


class IdentityRefused(Exception):
    """This contact may not be applied to the user its e-mail names."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class IdentityLookups:
    """What Ontraport said, before the transaction, about the contacts in doubt."""

    # Contact ids some user is linked to that Ontraport no longer has (merged away or deleted).
    vanished: set[int] = field(default_factory=set)
    # A requested contact Ontraport no longer has → the contact that now holds its user's e-mail.
    survivors: dict[int, Contact] = field(default_factory=dict)


def identity_lookups(
    *, requested_ids: Sequence[int], contacts: Mapping[int, Contact], directory: ContactDirectory
) -> IdentityLookups:
    """Ask Ontraport what the batch's doubtful links need. Raises OntraportError (the caller retries)."""
    lookups = IdentityLookups()
    missing = [contact_id for contact_id in requested_ids if contact_id not in contacts]
    keys = {key for contact in contacts.values() if (key := email_key(contact.email))}
    # Users whose e-mail a contact of the batch has, but who are linked to another contact: does it exist?
    suspects: set[int] = {
        contact_id
        for contact_id in User.objects.filter(email_key__in=keys, contact_id__isnull=False)
        .exclude(contact_id__in=list(contacts))
        .values_list("contact_id", flat=True)
        if contact_id is not None
    }
    # Users linked to a contact Ontraport did not return: where is their e-mail now?
    orphans = list(User.objects.filter(contact_id__in=missing).exclude(email_key=None))
    suspects |= {user.contact_id for user in orphans if user.contact_id is not None}
    if suspects:
        existing = directory.get_contacts(sorted(suspects))
        lookups.vanished = suspects - set(existing)
    # Every contact with the orphan's e-mail (getByEmail&all=1: Ontraport allows several), not just one.
    found: dict[int, list[int]] = {}
    for user in orphans:
        if user.contact_id is not None and user.contact_id in lookups.vanished:
            candidates = [c for c in directory.find_contact_ids_by_email(user.email) if c != user.contact_id]
            if candidates:
                found[user.contact_id] = candidates
    if found:
        survivors = directory.get_contacts(sorted({c for candidates in found.values() for c in candidates}))
        for orphan_id, candidates in found.items():
            # Ontraport's e-mail lookup folds case and accents (MySQL collation): only a contact whose
            # e-mail has the same key as the user's is the same person. Of several, the oldest (lowest
            # id): Ontraport merges duplicates into the oldest record.
            orphan = next(user for user in orphans if user.contact_id == orphan_id)
            same = [
                survivors[c]
                for c in sorted(candidates)
                if c in survivors and email_key(survivors[c].email) == orphan.email_key
            ]
            if same:
                lookups.survivors[orphan_id] = same[0]
    return lookups


def user_for_contact(
    *, contact: Contact, loaded: UsersLoaded, lookups: IdentityLookups
) -> tuple[User | None, str]:
    """The user `contact` is applied to, and how it was found: "linked", "by_email", "relinked" or "".

    Raises IdentityRefused when the only candidate may not be taken by this contact."""
    user = loaded.user_with_contact_id(contact.id)
    if user is not None:
        return user, "linked"
    key = email_key(contact.email)
    if key is None:
        return None, ""
    user = loaded.user_with_email_key(key)
    if user is None:
        return None, ""
    if user.contact_id == contact.id:
        return user, "linked"  # linked by another worker after this batch first looked
    if user.is_protected:
        raise IdentityRefused(
            FailureReason.PROTECTED_ACCOUNT,
            f"e-mail {contact.email} belongs to staff user {user.username}, which is never linked by a "
            "webhook; if the contact is theirs, link it by hand in the admin (Users → the user → "
            "'Link to Ontraport contact')",
        )
    if user.contact_id is None:
        return user, "by_email"
    if user.contact_id in lookups.vanished:
        return user, "relinked"
    raise IdentityRefused(
        FailureReason.EMAIL_CONFLICT,
        f"e-mail {contact.email} belongs to user {user.username}, already linked to Ontraport contact "
        f"{user.contact_id}, which still exists (two contacts share the e-mail: merge them in Ontraport)",
    )
