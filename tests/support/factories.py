"""factory_boy factories for every model the tests build, and Ontraport contacts as the client parses them.

Users get no usable password unless a test asks for one (`raw_password=...`): Django 6.1's default hasher
costs ~0.7 s of CPU per hash, and a test that neither logs in with a password nor checks one has no use for
it.
"""

import datetime

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import FieldMapping, Tag, TagSubscription, User
from ontraport_client import Contact
from ontraport_client.contact import format_tag_ids
from webhooks.adoption.models import Run
from webhooks.models import Delivery


class UserFactory(factory.django.DjangoModelFactory):
    """A site user as `create_user` makes one: no names, no contact, no groups, no tags; an e-mail made from
    the username. `raw_password="..."` gives the user that password (hashed: only when a test needs it)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        raw_password = None

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.LazyAttribute(lambda user: make_password(user.raw_password))

    @factory.post_generation
    def tags(self, create: bool, extracted: object, **kwargs: object) -> None:
        """`UserFactory(tags=[1, 4])`: the user holds these tags (ids or Tag rows)."""
        if create and extracted:
            self.tags.set(extracted)

    @factory.post_generation
    def groups(self, create: bool, extracted: object, **kwargs: object) -> None:
        """`UserFactory(groups=[customer])`: the user's roles (Group rows or ids)."""
        if create and extracted:
            self.groups.set(extracted)


class StaffFactory(UserFactory):
    is_staff = True


class SuperuserFactory(StaffFactory):
    is_superuser = True


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


class FieldMappingFactory(factory.django.DjangoModelFactory):
    """An Ontraport field mapped to a profile value (`target="user"` for a user attribute); the one mapping
    of its target and attribute, if there is one already."""

    class Meta:
        model = FieldMapping
        django_get_or_create = ("target", "attribute")

    ontraport_field = factory.Sequence(lambda n: f"f{1600 + n}")
    target = FieldMapping.Target.PROFILE
    attribute = factory.Sequence(lambda n: f"field{n}")


class TagSubscriptionFactory(factory.django.DjangoModelFactory):
    """An Ontraport webhook subscription to a tag's event (added, unless `event=...REMOVED`)."""

    class Meta:
        model = TagSubscription

    tag = factory.SubFactory(TagFactory)
    event = TagSubscription.Event.ADDED
    ontraport_id = factory.Sequence(lambda n: 5000 + n)


class RunFactory(factory.django.DjangoModelFactory):
    """An import of the contacts holding tag 1 ("Members"), queued from a command; `resync=True` for a
    resync of all linked users, `sweep=True` for a scheduled sweep."""

    class Meta:
        model = Run

    kind = Run.Kind.IMPORT
    arguments = factory.LazyAttribute(
        lambda run: {"tag_id": 1, "tag_name": "Members"} if run.kind == Run.Kind.IMPORT else {}
    )
    started_from = "command"

    class Params:
        resync = factory.Trait(kind=Run.Kind.RESYNC, arguments={"all": True})
        sweep = factory.Trait(kind=Run.Kind.SWEEP, started_from="schedule")


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A webhook's delivery as the endpoint stores it: an update of contact 1, received by GET on the root,
    pending (waiting for the worker, which the test runs or not).

    Traits for the other usual states, each setting only what makes the state (no attempts, times or
    messages a test might count on): `processing` (claimed by a worker, its lease running), `done`,
    `failed` (contact not found), `rejected` (no contact id: answered 400), `imported` (a row an import
    wrote, with its run).
    """

    class Meta:
        model = Delivery

    action = Delivery.Action.UPDATE
    contact_id = 1
    method = "GET"
    path = "/"

    class Params:
        processing = factory.Trait(
            status=Delivery.Status.PROCESSING,
            claimed_by="test-host:1:0000",
            lease_expires_at=factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(seconds=30)),
        )
        done = factory.Trait(status=Delivery.Status.DONE)
        failed = factory.Trait(status=Delivery.Status.FAILED, reason="not_found")
        rejected = factory.Trait(
            status=Delivery.Status.REJECTED, reason="missing_contact_id", contact_id=None
        )
        imported = factory.Trait(
            source=Delivery.Source.IMPORT,
            run=factory.SubFactory(RunFactory),
            method="",
            path=factory.LazyAttribute(lambda delivery: f"import run #{delivery.run.pk}"),
            source_ip=None,
        )


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


def contact_data(contact_id: int, *, prefix: str = "contact", **fields: str) -> dict[str, str]:
    """A contact as the sandbox's control API takes it (`sandbox.add_contacts([...])`): named F<id> L, its
    e-mail <prefix><id>@example.com; `fields` over these."""
    return {
        "id": str(contact_id),
        "firstname": f"F{contact_id}",
        "lastname": "L",
        "email": f"{prefix}{contact_id}@example.com",
        **fields,
    }
