"""Mapped fields: copy Ontraport contact values onto a user and its profile."""

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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


def user_apply_fields(*, user: User, contact: Contact, mappings: Sequence[FieldMapping]) -> list[str]:
    """Write mapped values to `user` (not saved). Returns the names of the model fields it changed.

    Empty values never erase data. Username and password are only used when a user is created (changing
    either later would lock people out); e-mail is never changed on a staff user or superuser, nor to an
    address another user has.
    """
    changed: list[str] = []
    profile = dict(user.profile)
    password_fields = _password_fields(mappings)
    for mapping in mappings:
        if mapping.target == FieldMapping.Target.PROFILE and mapping.ontraport_field in password_fields:
            continue  # a password is never stored in plaintext, whatever a mapping says
        value = _text(contact.fields.get(mapping.ontraport_field))
        if value.strip() == "":
            continue
        if mapping.target == FieldMapping.Target.PROFILE:
            profile[mapping.attribute] = mapping.options.get(value, value)  # a dropdown's label, not its id
        elif mapping.attribute in ("first_name", "last_name"):
            if getattr(user, mapping.attribute) != value[:NAME_MAX]:
                setattr(user, mapping.attribute, value[:NAME_MAX])
                changed.append(mapping.attribute)
        elif mapping.attribute == "email" and _email_may_change(user, value):
            user.email = value
            changed.append("email")
    if profile != user.profile:
        user.profile = profile
        changed.append("profile")
    return changed


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


def email_is_valid(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return len(email) <= (User._meta.get_field("email").max_length or 254)


def _email_may_change(user: User, email: str) -> bool:
    if user.is_protected or user.email.lower() == email.lower() or not email_is_valid(email):
        return False
    return not User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()
