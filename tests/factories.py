"""factory_boy factories for users, tags and Ontraport contacts (the last as the client parses them)."""

import factory
from django.contrib.auth.models import Group

from accounts.models import Tag, User
from ontraport_client import Contact
from ontraport_client.contact import format_tag_ids


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = "First"
    last_name = "Last"
    password = factory.django.Password("a-password-the-user-chose")


class StaffFactory(UserFactory):
    is_staff = True


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: 100 + n)
    name = factory.LazyAttribute(lambda tag: f"Tag {tag.id}")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"group{n}")


def contact(
    contact_id: int, email: str = "", *, tags: frozenset[int] = frozenset(), **fields: str
) -> Contact:
    """A contact as Ontraport sends it (every value a string), parsed as the client parses it."""
    data = {
        "id": str(contact_id),
        "email": email,
        "firstname": fields.pop("firstname", f"First{contact_id}"),
        "lastname": fields.pop("lastname", "Contact"),
        "contact_cat": fields.pop("contact_cat", format_tag_ids(tags)),
        **fields,
    }
    return Contact.from_api(data)
