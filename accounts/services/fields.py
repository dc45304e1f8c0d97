"""Mapped fields: copy Ontraport contact values onto a user and its profile."""

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.identity import email_key
from accounts.models import FieldMapping, User
from ontraport_client import Contact

NAME_MAX = 150  # AbstractUser.first_name / last_name


def field_mappings_enabled() -> list[FieldMapping]:
    return list(FieldMapping.objects.filter(enabled=True))


def mapped_value(*, contact: Contact, mappings: Sequence[FieldMapping], attribute: str) -> str:
    """The contact's value for a mapped user attribute (e.g. username), or "" when unmapped or empty."""
    for mapping in mappings:
        if mapping.target == FieldMapping.Target.USER and mapping.attribute == attribute:
            value = _text(contact.fields.get(mapping.ontraport_field))
            if value:
                return value
    return ""


def user_apply_fields(
    *,
    user: User,
    contact: Contact,
    mappings: Sequence[FieldMapping],
    notes: list[str] | None = None,
    labels: list[str] | None = None,
) -> list[str]:
    """Write mapped values to `user` (not saved). Returns the names of the model fields it changed; what
    it had to cut or leave out is said in `notes`; the label of every mapping whose value changed is added
    to `labels` (what the log says changed).

    Empty values never erase data. Username and password are only used when a user is created (changing
    either later would lock people out); e-mail is never changed on a staff user or superuser, nor to an
    address another user has (compared on accounts.identity.email_key). Names are cut at 150 characters
    and profile values at FUSION_PROFILE_VALUE_MAX.
    """
    notes = notes if notes is not None else []
    labels = labels if labels is not None else []
    changed: list[str] = []
    profile = dict(user.profile)
    password_fields = _password_fields(mappings)
    for mapping in mappings:
        if mapping.target == FieldMapping.Target.PROFILE and (
            mapping.ontraport_field in password_fields or mapping.is_password_profile
        ):
            # A password is never stored in plaintext, whatever a mapping says (the admin refuses such a
            # mapping; one enabled some other way is skipped here).
            continue
        value = _text(contact.fields.get(mapping.ontraport_field))
        if value.strip() == "":
            continue
        if mapping.target == FieldMapping.Target.PROFILE:
            label = mapping.options.get(value, value)  # a dropdown's label, not its id
            shown = _cut(label, settings.FUSION_PROFILE_VALUE_MAX, mapping, notes)
            if profile.get(mapping.attribute) != shown:
                profile[mapping.attribute] = shown
                labels.append(mapping_label(mapping))
        elif mapping.attribute in ("first_name", "last_name"):
            value = _cut(value, NAME_MAX, mapping, notes)
            if getattr(user, mapping.attribute) != value:
                setattr(user, mapping.attribute, value)
                changed.append(mapping.attribute)
                labels.append(mapping_label(mapping))
        elif mapping.attribute == "email" and _email_may_change(user, value.strip(), notes):
            user.email = value.strip()
            changed.append("email")
            labels.append(mapping_label(mapping))
    if profile != user.profile:
        user.profile = profile
        changed.append("profile")
    return changed


def mapping_label(mapping: FieldMapping) -> str:
    """How the owner knows a mapped field: Ontraport's label ("Membership Level"), else its key."""
    return mapping.label or mapping.ontraport_field


def _text(value: object) -> str:
    """A contact value as text the database will take: PostgreSQL refuses NUL bytes in text columns (a
    value carrying one would fail the sync on every retry), so they are dropped; all else is kept as data."""
    return "" if value is None else str(value).replace("\x00", "")


def _password_fields(mappings: Sequence[FieldMapping]) -> set[str]:
    """Ontraport fields that hold passwords: the Return Password field and any mapped to the password."""
    fields = {
        m.ontraport_field
        for m in mappings
        if m.target == FieldMapping.Target.USER and m.attribute == "password"
    }
    if settings.FUSION_RETURN_PASSWORD_FIELD:
        fields.add(settings.FUSION_RETURN_PASSWORD_FIELD)
    return fields


def _cut(value: str, limit: int, mapping: FieldMapping, notes: list[str]) -> str:
    if len(value) <= limit:
        return value
    notes.append(f"{mapping.ontraport_field} cut from {len(value)} to {limit} characters")
    return value[:limit]


def email_is_valid(email: str) -> bool:
    """Django's e-mail rules, and a usable identity key (no invisible characters, a valid IDNA domain)."""
    try:
        validate_email(email)
    except ValidationError:
        return False
    return email_key(email) is not None and len(email) <= (User._meta.get_field("email").max_length or 254)


def _email_may_change(user: User, email: str, notes: list[str]) -> bool:
    key = email_key(email)
    if user.is_protected or key == email_key(user.email):  # a user not saved yet has no email_key
        return False
    if key is None or not email_is_valid(email):
        notes.append("e-mail not changed: the contact's new e-mail is invalid")
        return False
    if User.objects.filter(email_key=key).exclude(pk=user.pk).exists():
        notes.append(f"e-mail not changed: {email} belongs to another user")
        return False
    return True
