"""Apply one contact to one user (or create the user): fields, role, tags. Called by the accounts service
(`contacts_apply`) inside a contact's savepoint, once identity has decided which user it is."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from accounts.identity import username_key
from accounts.models import FieldMapping, User
from accounts.passwords import password_generate, password_hash_generated
from accounts.services.batch import BatchWrites, UsersLoaded, tag_change
from accounts.services.email_change import email_change_notice_owe
from accounts.services.fields import mapped_value, user_apply_fields
from accounts.services.password_return import password_return_after_create
from accounts.services.roles import role_groups_after, role_resolve
from accounts.services.welcome import welcome_email_owe
from accounts.usernames import (
    UsernamesKnown,
    username_base,
    username_first_free,
    username_looks_protected,
    username_refusal,
)
from ontraport_client import Contact


@dataclass
class Applied:
    """What applying one contact did."""

    user: User
    changed: bool = False
    notes: list[str] = field(default_factory=list)
    # What changed, in the owner's words, for the log: "Last Name, Membership Level", "tags added: VIP".
    changes: list[str] = field(default_factory=list)


def user_update_from_contact(
    *,
    user: User,
    contact: Contact,
    with_fields: bool,
    role: str,
    mappings: Sequence[FieldMapping],
    loaded: UsersLoaded,
    writes: BatchWrites,
) -> Applied:
    """Bring an existing, unprotected user in step with `contact`: mapped fields and role when
    `with_fields` (`update`, `add`), tags always. Nothing is written when nothing differs."""
    applied = Applied(user=user)
    if (unsent := loaded.unsent_of(user)) is not None:
        # The site's own changes not yet sent are later than this contact (docs/sync.md, conflicts).
        contact = unsent.over(contact)
        applied.notes.append("the site's changes waiting to be sent to Ontraport were kept")
    changed: list[str] = []
    if user.contact_id != contact.id:
        user.contact_id = contact.id
        changed.append("contact_id")
    email_before = user.email
    if with_fields:
        labels: list[str] = []
        changed += user_apply_fields(
            user=user, contact=contact, mappings=mappings, notes=applied.notes, labels=labels
        )
        if labels:
            applied.changes.append(", ".join(labels))
        if role:
            choice = role_resolve(requested=role)
            if choice.refused or choice.group is None:
                # A typo in a URL must not demote an existing customer to the default role.
                applied.notes.append(f"{choice.refused}; groups unchanged")
            else:
                current = list(user.groups.all())
                wanted = role_groups_after(current=current, granted=choice.group)
                if {group.pk for group in current} != wanted:
                    user.groups.set(wanted)
                    applied.changed = True
                    applied.changes.append(f"role {choice.group.name}")
    if changed:
        user.save(update_fields=changed)
        applied.changed = True
    if "email" in changed and email_change_notice_owe(user=user, old_email=email_before):
        applied.notes.append(f"e-mail changed from {email_before}: the old address is sent a notice")
    change = tag_change(user, wanted=contact.tag_ids, current=loaded.tags_of(user))
    if change is not None:
        writes.tag_changes.append(change)
        applied.changed = True
        if change.applied:
            applied.changes.append(f"tags added: {', '.join(loaded.names_of_tags(change.applied))}")
        if change.removed:
            applied.changes.append(f"tags removed: {', '.join(loaded.names_of_tags(change.removed))}")
    return applied


def user_create_from_contact(
    *,
    contact: Contact,
    role: str,
    send_notification: bool,
    mappings: Sequence[FieldMapping],
    loaded: UsersLoaded,
    writes: BatchWrites,
) -> Applied:
    """Create the user for `contact` (its e-mail already checked): username, password, role, tags, and
    the side effects owed after commit (return password, welcome e-mail)."""
    wanted, username_note = username_choice(contact, mappings, known=loaded.usernames)
    username = username_first_free(wanted, known=loaded.usernames)
    user = User(username=username, email=contact.email.strip(), contact_id=contact.id)
    applied = Applied(user=user, changed=True)
    if username_note:
        applied.notes.append(username_note)
    user_apply_fields(user=user, contact=contact, mappings=mappings, notes=applied.notes)

    mapped_password = mapped_value(contact=contact, mappings=mappings, attribute="password")
    generated_password = ""
    if mapped_password:
        user.set_password(mapped_password)  # a password a person chose: full-strength hash
    else:
        generated_password = password_generate()
        user.password = password_hash_generated(generated_password)
    user.save()
    loaded.usernames.taken.add(username_key(username))

    choice = role_resolve(requested=role)
    if choice.group is not None:
        writes.group_rows.append((user.pk, choice.group.pk))
    if choice.refused:
        given = f"used the default role {choice.group.name!r}" if choice.group else "no role given"
        applied.notes.append(f"{choice.refused}; {given}")
    change = tag_change(user, wanted=contact.tag_ids, current=frozenset())
    if change is not None:
        writes.tag_changes.append(change)
        applied.changes.append(f"tags added: {', '.join(loaded.names_of_tags(change.applied))}")
    if generated_password and settings.FUSION_RETURN_PASSWORD_FIELD:
        password_return_after_create(user=user, password=generated_password)
        applied.notes.append("password return scheduled")
    if send_notification or settings.FUSION_SEND_WELCOME_EMAIL:
        welcome_email_owe(user=user)
        applied.notes.append("welcome e-mail queued")
    return applied


def username_wanted(contact: Contact, mappings: Sequence[FieldMapping]) -> str:
    """The name a new user for `contact` is given if it is free (digits are appended while it is not)."""
    return username_choice(contact, mappings)[0]


def username_choice(
    contact: Contact, mappings: Sequence[FieldMapping], *, known: UsernamesKnown | None = None
) -> tuple[str, str]:
    """The name to try first, and a note when a mapped username could not be used.

    A mapped username is stripped and NFKC-normalised (as Django's own forms do, so a full-width or
    Kelvin-sign name cannot pose as another) and must pass Django's UnicodeUsernameValidator, which the
    admin applies when the user is saved; one that fails, or that looks like a staff user's or a
    superuser's name (the same confusables skeleton), gives way to FUSION_USERNAME_FORMAT, with a note."""
    mapped = mapped_value(contact=contact, mappings=mappings, attribute="username")
    note = ""
    if mapped:
        name = User.normalize_username(mapped.strip())
        refused = username_refusal(name)
        if not refused and username_looks_protected(name, known=known):
            refused = "looks like a staff user's name"
        if not refused:
            return name, ""
        note = f"mapped username {mapped!r} {refused}: used FUSION_USERNAME_FORMAT instead"
    base = username_base(
        email=contact.email.strip(),
        first_name=contact.first_name,
        last_name=contact.last_name,
        username_format=settings.FUSION_USERNAME_FORMAT,
    )
    return base, note
