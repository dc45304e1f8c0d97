"""The identity rules (docs/identity.md), pinned down on the accounts service with a fake Ontraport.

Each test hands contacts to `users_sync_from_contacts` as the worker, an import or a resync would, and checks
which user each contact reached — above all, that no look-alike ever reaches someone else's account."""

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction

from accounts.identity import ascii_lower, email_key
from accounts.models import Tag, User
from accounts.services.contact_identity import IdentityRefused
from accounts.services.contacts_apply import ContactRequest, Effect, SyncAction, users_sync_from_contacts
from tests.support.directory import FakeDirectory
from tests.support.factories import GroupFactory, StaffFactory, UserFactory, contact

pytestmark = pytest.mark.django_db

ADD = ContactRequest(action=SyncAction.ADD)
UPDATE = ContactRequest(action=SyncAction.UPDATE)


def apply(directory, *ids, request=ADD, **kwargs):
    """Apply the contacts `ids` as the worker does: fetched from `directory`, then handed to the service."""
    requests = {contact_id: request for contact_id in ids}
    return users_sync_from_contacts(
        requests=requests, contacts=directory.fetch(*ids), directory=directory, **kwargs
    )


# --- the one e-mail key --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("kate@example.com", "kate@example.com"),
        ("  KATE@Example.COM ", "kate@example.com"),
        ("kate@b\u00fccher.de", "kate@xn--bcher-kva.de"),
        ("kate@XN--BCHER-KVA.de", "kate@xn--bcher-kva.de"),
        ("\u212aate@example.com", "\u212aate@example.com"),  # Kelvin sign kept, never folded to k
        ("\u0131ris@example.com", "\u0131ris@example.com"),  # dotless i kept
        ("\u017fam@example.com", "\u017fam@example.com"),  # long s kept
        ("jose\u0301@example.com", "jose\u0301@example.com"),  # NFD kept as sent
        ("kate@example.\u212aom", None),  # a look-alike in the domain: not a valid IDNA name
        ("kate@\uff45xample.com", None),  # full-width domain
        ("ka\u200bte@example.com", None),  # zero-width space
        ("kate\u202e@example.com", None),  # bidi override
        ("kate\x00@example.com", None),  # NUL
        ("kate@example.com.", None),  # trailing dot
        ("kate@@example.com", None),
        ("", None),
    ],
)
def test_email_key(address, key):
    assert email_key(address) == key


def test_ascii_lower_folds_only_ascii():
    assert ascii_lower("K\u212a\u0130I") == "k\u212a\u0130i"


# --- look-alikes never reach another user ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "outcome"),
    [
        ("KATE@EXAMPLE.COM", "linked"),
        (" kate@Example.com ", "linked"),
        ("\u212aate@example.com", "created"),
        ("\uff4bate@example.com", "invalid_email"),
        ("kate@example.\u212aom", "invalid_email"),
        ("kate@\uff45xample.com", "invalid_email"),
        ("ka\u200bte@example.com", "invalid_email"),
        ("kate\u202e@example.com", "invalid_email"),
        ("kate\x00@example.com", "invalid_email"),
        ("kate@example.com.", "invalid_email"),
    ],
)
def test_a_look_alike_email_never_links_kate(address, outcome):
    kate = UserFactory(username="kate", email="kate@example.com", first_name="First")
    directory = FakeDirectory(contact(7, address, firstname="Mallory"))

    result = apply(directory, 7)[7]

    kate.refresh_from_db()
    if outcome == "linked":
        assert (result.kind, result.effect, result.user_id) == ("done", Effect.LINKED, kate.pk)
        assert kate.contact_id == 7
        return
    assert (kate.contact_id, kate.email, kate.first_name) == (None, "kate@example.com", "First")
    if outcome == "created":
        assert result.effect == Effect.CREATED and result.user_id != kate.pk
        assert User.objects.get(pk=result.user_id).email == address.strip()
    else:
        assert (result.kind, result.reason) == ("failed", outcome)
        assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("user_email", "contact_email"),
    [("iris@example.com", "\u0131ris@example.com"), ("sam@example.com", "\u017fam@example.com")],
)
def test_dotless_i_and_long_s_make_other_people(user_email, contact_email):
    user = UserFactory(email=user_email)
    result = apply(FakeDirectory(contact(8, contact_email)), 8)[8]
    user.refresh_from_db()
    assert user.contact_id is None
    assert result.effect == Effect.CREATED and result.user_id != user.pk


def test_an_idn_address_links_in_either_form():
    user = UserFactory(email="kate@b\u00fccher.de")
    result = apply(FakeDirectory(contact(9, "KATE@xn--bcher-kva.de")), 9)[9]
    assert (result.effect, result.user_id) == (Effect.LINKED, user.pk)


def test_an_update_cannot_move_a_users_email_onto_a_look_alike_of_another():
    kate = UserFactory(email="kate@example.com")
    mallory = UserFactory(email="mallory@example.com", contact_id=5)
    directory = FakeDirectory(contact(5, "KATE@example.com"))

    result = apply(directory, 5, request=UPDATE)[5]

    mallory.refresh_from_db()
    assert mallory.email == "mallory@example.com"
    assert "belongs to another user" in result.message
    kate.refresh_from_db()
    assert kate.contact_id is None


def test_the_uniqueness_rule_is_the_key_not_the_database_case_folding():
    UserFactory(email="kate@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="KATE@example.COM")
    other = UserFactory(email="\u212aate@example.com")  # a different address: allowed on both databases
    assert other.email_key == "\u212aate@example.com"


# --- protected accounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [{"is_staff": True}, {"is_superuser": True}])
def test_a_staff_user_is_never_linked_by_email(flags):
    admin = UserFactory(email="boss@example.com", first_name="First", **flags)
    result = apply(FakeDirectory(contact(11, "boss@example.com", firstname="Mallory")), 11)[11]

    assert (result.kind, result.reason) == ("failed", "protected_account")
    assert "link it by hand" in result.message
    admin.refresh_from_db()
    assert (admin.contact_id, admin.first_name) == (None, "First")
    assert User.objects.count() == 1


def test_a_staff_user_linked_by_hand_is_never_changed_by_a_webhook():
    tag_holder = StaffFactory(email="boss@example.com", contact_id=12, first_name="First")
    directory = FakeDirectory(contact(12, "other@example.com", firstname="Renamed", tags=frozenset({1})))

    result = apply(directory, 12, request=ContactRequest(action=SyncAction.ADD, role="customer"))[12]

    tag_holder.refresh_from_db()
    assert result.effect == Effect.UNCHANGED
    assert (tag_holder.email, tag_holder.first_name) == ("boss@example.com", "First")
    assert not tag_holder.tags.exists() and not tag_holder.groups.exists()


# --- merged and deleted contacts ------------------------------------------------------------------------


def test_a_webhook_for_the_survivor_of_a_merge_relinks_the_user_of_the_merged_contact():
    """Contact 5 was merged into 3 (Ontraport keeps the oldest and deletes the newer, without a webhook)."""
    user = UserFactory(email="dana@example.com", contact_id=5)
    directory = FakeDirectory(contact(3, "dana@example.com", tags=frozenset({1})))

    result = apply(directory, 3)[3]

    user.refresh_from_db()
    assert (result.kind, result.effect, result.user_id) == ("done", Effect.RELINKED, user.pk)
    assert user.contact_id == 3
    assert "relinked from contact 5" in result.message
    assert User.objects.count() == 1


def test_an_email_shared_with_a_contact_that_still_exists_is_a_conflict():
    user = UserFactory(email="dana@example.com", contact_id=5)
    directory = FakeDirectory(contact(3, "dana@example.com"), contact(5, "dana@example.com"))

    result = apply(directory, 3)[3]

    assert (result.kind, result.reason) == ("failed", "email_conflict")
    user.refresh_from_db()
    assert user.contact_id == 5


def test_a_webhook_for_a_merged_away_contact_follows_its_users_email_to_the_survivor():
    user = UserFactory(email="dana@example.com", contact_id=5)
    directory = FakeDirectory(contact(3, "Dana@Example.com", firstname="Dana"))

    result = apply(directory, 5, request=UPDATE)[5]

    user.refresh_from_db()
    assert (result.kind, result.effect) == ("done", Effect.RELINKED)
    assert (user.contact_id, user.first_name) == (3, "Dana")
    assert "merged into 3" in result.message


def test_every_contact_with_the_email_is_considered_and_the_oldest_same_address_wins():
    """getByEmail&all=1: a look-alike (first by id, folded by Ontraport's collation) does not hide the real
    survivor behind it; of two with the same address, the oldest, as Ontraport merges into it."""
    user = UserFactory(email="kate@example.com", contact_id=50)
    directory = FakeDirectory(
        contact(3, "\u212aate@example.com"),  # KELVIN SIGN: Ontraport matches it, our key does not
        contact(9, "Kate@example.com", firstname="Kate"),
        contact(12, "kate@example.com", firstname="Later"),
    )

    result = apply(directory, 50, request=UPDATE)[50]

    user.refresh_from_db()
    assert (result.kind, result.effect) == ("done", Effect.RELINKED)
    assert (user.contact_id, user.first_name) == (9, "Kate")
    assert directory.calls.count("getByEmail kate@example.com") == 1


def test_a_survivor_with_a_look_alike_email_is_not_the_same_person():
    """Ontraport's lookup folds case loosely (MySQL collation): its answer is checked on our key."""
    user = UserFactory(email="kate@example.com", contact_id=5)
    directory = FakeDirectory(contact(3, "\u212aate@example.com"))

    result = apply(directory, 5, request=UPDATE)[5]

    user.refresh_from_db()
    assert (result.kind, result.reason) == ("failed", "contact_deleted")
    assert user.contact_id == 5


@pytest.mark.parametrize(("setting", "active"), [("keep", True), ("deactivate", False)])
def test_a_deleted_contact_keeps_or_deactivates_its_user(settings, setting, active):
    settings.FUSION_DELETED_CONTACT = setting
    user = UserFactory(email="gone@example.com", contact_id=5)

    result = apply(FakeDirectory(), 5, request=UPDATE)[5]

    user.refresh_from_db()
    assert (result.kind, result.reason, result.user_id) == ("failed", "contact_deleted", user.pk)
    assert user.is_active is active
    assert user.contact_id == 5


def test_a_contact_nobody_is_linked_to_is_simply_not_found():
    directory = FakeDirectory()
    result = apply(directory, 404)[404]
    assert (result.kind, result.reason) == ("failed", "not_found")
    assert directory.calls == []  # nothing in doubt: no extra call


def test_no_extra_ontraport_call_when_nothing_is_in_doubt():
    UserFactory(email="a@example.com", contact_id=1)
    directory = FakeDirectory(contact(1, "a@example.com"), contact(2, "b@example.com"))
    apply(directory, 1, 2)
    assert [call for call in directory.calls if call != "list_tags"] == []


# --- roles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requested",
    [
        "Admin",
        "admin",
        "adm\u0131n",
        "\u017fuperuser",
        "\u017ftaff",
        "adm\u0131n\u0131strator",
        "ADM\u0130N",
        " staff ",
    ],
)
def test_an_administrative_role_is_never_granted_whatever_its_spelling(requested):
    for name in ("Admin", "superuser", "staff", "administrator"):
        GroupFactory(name=name)
    result = apply(
        FakeDirectory(contact(20, "r@example.com")), 20, request=ContactRequest(SyncAction.ADD, requested)
    )[20]

    user = User.objects.get(pk=result.user_id)
    assert list(user.groups.values_list("name", flat=True)) == ["subscriber"]


def test_a_group_with_permissions_is_granted_only_when_listed(settings):
    editors = GroupFactory(name="editors")
    editors.permissions.add(Permission.objects.get(codename="change_user"))
    request = ContactRequest(SyncAction.ADD, "Editors")

    first = apply(FakeDirectory(contact(21, "e1@example.com")), 21, request=request)[21]
    assert list(User.objects.get(pk=first.user_id).groups.values_list("name", flat=True)) == ["subscriber"]
    assert "carries permissions" in first.message

    settings.FUSION_ALLOWED_ROLES = ["editors"]
    second = apply(FakeDirectory(contact(22, "e2@example.com")), 22, request=request)[22]
    assert list(User.objects.get(pk=second.user_id).groups.values_list("name", flat=True)) == ["editors"]


def test_allowed_roles_limit_what_a_webhook_may_grant(settings):
    GroupFactory(name="customer")
    GroupFactory(name="vip")
    settings.FUSION_ALLOWED_ROLES = ["customer"]
    result = apply(
        FakeDirectory(contact(23, "v@example.com")), 23, request=ContactRequest(SyncAction.ADD, "vip")
    )[23]
    assert "not in FUSION_ALLOWED_ROLES" in result.message
    assert list(User.objects.get(pk=result.user_id).groups.values_list("name", flat=True)) == ["subscriber"]


def test_a_role_is_found_by_its_ascii_case_only():
    GroupFactory(name="Customer")
    result = apply(
        FakeDirectory(contact(24, "c@example.com")), 24, request=ContactRequest(SyncAction.ADD, "CUSTOMER")
    )[24]
    assert list(User.objects.get(pk=result.user_id).groups.values_list("name", flat=True)) == ["Customer"]


# --- a bad contact fails alone --------------------------------------------------------------------------


def test_a_contact_with_a_25_digit_tag_id_fails_alone_beside_49_good_ones():
    good = [contact(i, f"good{i}@example.com", tags=frozenset({1})) for i in range(1, 50)]
    bad = contact(50, "bad@example.com", contact_cat="*/*1*/*9999999999999999999999999*/*")
    directory = FakeDirectory(*good, bad)

    outcomes = apply(directory, *range(1, 51))

    assert (outcomes[50].kind, outcomes[50].reason) == ("failed", "invalid_contact_data")
    assert "9999999999999999999999999" in outcomes[50].message
    assert all(outcomes[i].effect == Effect.CREATED for i in range(1, 50))
    assert User.objects.count() == 49


def test_an_unexpected_error_on_one_contact_is_a_retry_for_that_contact_only(monkeypatch):
    import accounts.services.contacts_apply as service

    real = service.user_create_from_contact

    def explode_on_2(**kwargs):
        if kwargs["contact"].id == 2:
            raise ZeroDivisionError
        return real(**kwargs)

    monkeypatch.setattr(service, "user_create_from_contact", explode_on_2)
    directory = FakeDirectory(
        contact(1, "one@example.com"), contact(2, "two@example.com"), contact(3, "3@example.com")
    )

    outcomes = apply(directory, 1, 2, 3)

    assert (outcomes[2].kind, outcomes[2].count_attempt) == ("retry", True)
    assert "ZeroDivisionError" in outcomes[2].message
    assert {outcomes[1].effect, outcomes[3].effect} == {Effect.CREATED}
    assert set(User.objects.values_list("contact_id", flat=True)) == {1, 3}


# --- the service's own contract ------------------------------------------------------------------------


def test_a_dry_run_reports_and_writes_nothing(mailoutbox, settings):
    settings.FUSION_SEND_WELCOME_EMAIL = True
    existing = UserFactory(email="known@example.com")
    directory = FakeDirectory(
        contact(1, "new@example.com", tags=frozenset({1})), contact(2, "known@example.com")
    )

    outcomes = apply(directory, 1, 2, dry_run=True)

    assert (outcomes[1].effect, outcomes[2].effect) == (Effect.CREATED, Effect.LINKED)
    assert User.objects.count() == 1
    assert not Tag.objects.exists()  # not even the new tag's row
    existing.refresh_from_db()
    assert existing.contact_id is None
    assert mailoutbox == []


def test_applying_the_same_contact_again_is_unchanged_and_writes_nothing(django_assert_max_num_queries):
    directory = FakeDirectory(contact(1, "one@example.com", tags=frozenset({1})))
    assert apply(directory, 1, request=UPDATE)[1].effect == Effect.NONE
    assert apply(directory, 1)[1].effect == Effect.CREATED
    assert apply(directory, 1, request=UPDATE)[1].effect == Effect.UNCHANGED


def test_two_contacts_with_one_email_in_one_batch_make_one_user():
    directory = FakeDirectory(contact(1, "twin@example.com"), contact(2, "TWIN@example.com"))
    outcomes = apply(directory, 1, 2)
    assert outcomes[1].effect == Effect.CREATED
    assert (outcomes[2].kind, outcomes[2].reason) == ("failed", "email_conflict")
    assert User.objects.count() == 1


def test_groups_are_read_afresh_for_each_batch():
    apply(FakeDirectory(contact(1, "a@example.com")), 1, request=ContactRequest(SyncAction.ADD, "late"))
    GroupFactory(name="late")
    result = apply(
        FakeDirectory(contact(2, "b@example.com")), 2, request=ContactRequest(SyncAction.ADD, "late")
    )[2]
    assert list(User.objects.get(pk=result.user_id).groups.values_list("name", flat=True)) == ["late"]


def test_a_user_linked_by_another_worker_after_the_batch_first_looked_is_this_contacts_user():
    """The race behind a flaky PostgreSQL run: the batch's first read saw no user for contact 2; another
    worker then created it (linked to 2); a lookup by e-mail, made later in the batch, finds it."""
    from accounts.services.batch import UsersLoaded
    from accounts.services.contact_identity import IdentityLookups, user_for_contact

    loaded = UsersLoaded.read(contact_ids=[1, 2], email_keys=["twin@example.com"])
    created_meanwhile = UserFactory(email="twin@example.com", contact_id=2)
    loaded.forget(contact_id=1, email_key="twin@example.com", user=None)  # contact 1's create lost the race

    with pytest.raises(IdentityRefused):
        user_for_contact(contact=contact(1, "twin@example.com"), loaded=loaded, lookups=IdentityLookups())
    user, how = user_for_contact(
        contact=contact(2, "TWIN@example.com"), loaded=loaded, lookups=IdentityLookups()
    )

    assert (user.pk, how) == (created_meanwhile.pk, "linked")
