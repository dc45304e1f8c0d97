"""The admin of users, tags and field mappings: changelists without N+1, filters, search, escaping of what
Ontraport sent, and the buttons that load from Ontraport (through the sandbox, over HTTP)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import FieldMapping, Tag
from tests.support.admin_clients import change_form_data, messages_of, staff_client
from tests.support.factories import FieldMappingFactory, GroupFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()

USERS_URL = "/admin/accounts/user/"
TAGS_URL = "/admin/accounts/tag/"
MAPPINGS_URL = "/admin/accounts/fieldmapping/"
SCRIPT = '<script>alert("owned")</script>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;"
IMG = "<img src=x onerror=alert(1)>"


def usernames_listed(response) -> set[str]:
    return {user.username for user in response.context["cl"].result_list}


def make_users(count: int, *, tags: list[Tag], groups: list[Group]) -> list:
    return [
        UserFactory(username=f"member{n}", contact_id=5000 + n, first_name="M", tags=tags, groups=groups)
        for n in range(count)
    ]


# --- users -----------------------------------------------------------------------------------------------


def test_user_changelist_shows_roles_and_tag_chips_in_a_fixed_number_of_queries(
    admin, django_assert_max_num_queries
):
    tags = [TagFactory(id=n, name=f"T{n}") for n in (1, 2, 3)]
    groups = [GroupFactory(name="customer"), Group.objects.get(name="subscriber")]
    make_users(40, tags=tags, groups=groups)

    with django_assert_max_num_queries(10):
        response = admin.get(USERS_URL, {"linked": "yes", "o": "-3"})  # sorted by contact id (the 3rd column)

    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert len(rows) == 40
    html = response.content.decode()
    assert "customer, subscriber" in html
    assert html.count('<span class="chip">T2</span>') == 40
    assert rows[0].contact_id == 5039
    assert 'href="https://app.ontraport.com/#!/contact/edit&amp;id=5039"' in html


def test_user_changelist_filters(admin):
    vip = TagFactory(id=4, name="VIP")
    customer = GroupFactory(name="customer")
    linked = UserFactory(username="linked", email="l@example.com", contact_id=1)
    linked.tags.add(vip)
    linked.groups.add(customer)
    UserFactory(username="unlinked", email="u@example.com")

    assert usernames_listed(admin.get(USERS_URL, {"linked": "yes"})) == {"linked"}
    assert usernames_listed(admin.get(USERS_URL, {"linked": "no"})) == {"unlinked", "root"}
    assert usernames_listed(admin.get(USERS_URL, {"tags__id__exact": vip.pk})) == {"linked"}
    assert usernames_listed(admin.get(USERS_URL, {"groups__id__exact": customer.pk})) == {"linked"}
    assert usernames_listed(admin.get(USERS_URL, {"is_staff__exact": "1"})) == {"root"}
    assert usernames_listed(admin.get(USERS_URL, {"is_active__exact": "0"})) == set()


def test_user_search_by_contact_id_is_exact_and_by_text_is_partial(admin):
    UserFactory(username="three", email="three@example.com", contact_id=3, last_name="Okafor")
    UserFactory(username="thirtythree", email="tt@example.com", contact_id=33)

    assert usernames_listed(admin.get(USERS_URL, {"q": "3"})) == {"three"}
    assert usernames_listed(admin.get(USERS_URL, {"q": "33"})) == {"thirtythree"}
    assert usernames_listed(admin.get(USERS_URL, {"q": "okaf"})) == {"three"}
    assert usernames_listed(admin.get(USERS_URL, {"q": "TT@EXAMPLE"})) == {"thirtythree"}
    # Larger than any id the database holds: no match, and no error.
    assert usernames_listed(admin.get(USERS_URL, {"q": "9" * 30})) == set()


def test_contact_values_with_markup_are_shown_escaped(admin, site_sandbox, webhook):
    FieldMappingFactory(ontraport_field="f1534", target="profile", attribute="nickname")
    site_sandbox.add_contact(
        {"id": "700", "email": "inject@example.com", "firstname": SCRIPT, "lastname": IMG, "f1534": SCRIPT}
    )
    site_sandbox.add_tag(IMG, tag_id=90)
    site_sandbox.add_contact({**site_sandbox.get_contact(700), "contact_cat": "*/*90*/*"})
    assert webhook("add", 700).status_code == 202
    user = User.objects.get(contact_id=700)
    assert user.profile == {"nickname": SCRIPT}
    User.objects.filter(pk=user.pk).update(profile={"nickname": SCRIPT, IMG: "key from a mapping"})

    pages = [
        admin.get(USERS_URL),
        admin.get(f"{USERS_URL}{user.pk}/change/"),
        admin.get(TAGS_URL),
    ]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert SCRIPT not in html
        assert IMG not in html
    change_page = pages[1].content.decode()
    assert f"<tr><th>nickname</th><td>{SCRIPT_ESCAPED}</td></tr>" in change_page
    assert "<th>&lt;img src=x onerror=alert(1)&gt;</th><td>key from a mapping</td>" in change_page
    assert SCRIPT_ESCAPED in pages[0].content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2].content.decode()


def test_user_change_page_has_the_ontraport_fieldset(admin):
    tag = TagFactory(id=5, name="Gold Members")
    user = UserFactory(username="dana", email="dana@example.com", contact_id=1, profile={})
    user.tags.add(tag)

    response = admin.get(f"{USERS_URL}{user.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2" in html and ">Ontraport</h2>" in html
    # The contact id is shown (a link to Ontraport), not editable: "Link" (accounts.services.contact_link)
    # is the one way to change it.
    assert 'class="readonly"><a href="https://app.ontraport.com/#!/contact/edit&amp;id=1"' in html
    assert 'form="link-contact-form"' in html
    # Tags are edited here (an autocomplete of the site's tags), and the page says where they go.
    assert 'name="tags"' in html
    assert '<option value="5" selected>Gold Members</option>' in html
    assert 'id="add_id_tags"' not in html  # no pop-up making a tag on the site only
    assert "sent to the contact in Ontraport" in html
    assert "field-password_return_due_at" in html


def test_tags_edited_on_a_users_page_are_applied_and_sent_to_the_contact(admin, site_sandbox):
    """Through the service API: applied on the site, recorded in the outbox with who edited them, sent by
    the worker (inline here) to the sandbox; the history says what changed."""
    from django.contrib.admin.models import LogEntry

    from accounts.models import OutboxChange
    from ontraport_client.contact import parse_tag_ids

    for tag_id, name in ((1, "Members"), (2, "Customers"), (4, "VIP")):
        TagFactory(id=tag_id, name=name)
    user = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    user.tags.set([1, 2])

    response = admin.post(f"{USERS_URL}{user.pk}/change/", change_form_data(admin, user, tags=["1", "4"]))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(user.tags.values_list("pk", flat=True)) == {1, 4}
    change = OutboxChange.objects.get()
    assert (change.tags_added, change.tags_removed, change.status) == ([4], [2], "sent")
    assert change.created_by is not None and change.created_by.is_superuser
    assert parse_tag_ids(site_sandbox.get_contact(1)["contact_cat"]) == {1, 4}
    assert "Tags" in LogEntry.objects.get(object_id=str(user.pk)).get_change_message()


def test_saving_a_users_page_with_its_tags_unchanged_sends_nothing(admin, site_sandbox):
    from accounts.models import OutboxChange

    tag = TagFactory(id=5, name="Gold Members")
    user = UserFactory(username="dana", email="dana@example.com", contact_id=1)
    user.tags.add(tag)
    response = admin.post(f"{USERS_URL}{user.pk}/change/", change_form_data(admin, user))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(user.tags.values_list("pk", flat=True)) == [5]
    assert not OutboxChange.objects.exists()


def test_a_name_edited_on_a_users_page_is_pushed_to_the_contact(admin, site_sandbox):
    user = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1, first_name="D")
    data = change_form_data(admin, user, first_name="Danielle", tags=[])
    response = admin.post(f"{USERS_URL}{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert site_sandbox.get_contact(1)["firstname"] == "Danielle"


# --- tags ------------------------------------------------------------------------------------------------


def test_tag_changelist_counts_users_and_searches_by_name_or_id(admin, django_assert_max_num_queries):
    members = TagFactory(id=1, name="Members")
    TagFactory(id=11, name="Newsletter")
    make_users(5, tags=[members], groups=[])

    with django_assert_max_num_queries(7):
        response = admin.get(TAGS_URL)

    html = response.content.decode()
    # The count links to those users (the users list filtered by the tag).
    assert '<td class="field-user_count"><a href="/admin/accounts/user/?tags__id__exact=1"' in html
    assert {t.name for t in admin.get(TAGS_URL, {"q": "1"}).context["cl"].result_list} == {"Members"}
    assert {t.name for t in admin.get(TAGS_URL, {"q": "news"}).context["cl"].result_list} == {"Newsletter"}


def test_refresh_tag_names_action_reads_ontraport(admin, site_sandbox):
    TagFactory(id=4, name="")  # seen on a contact, name unknown yet

    response = admin.post(
        TAGS_URL, {"action": "refresh_from_ontraport", "_selected_action": ["4"]}, follow=True
    )

    assert messages_of(response) == ["Refreshed tag names from Ontraport: it has 8 tags."]
    assert Tag.objects.get(id=4).name == "VIP"
    assert Tag.objects.count() == 8
    assert Tag.objects.filter(name_checked_at__isnull=True).count() == 0


def test_refresh_tags_button_and_its_error_message(admin, site_sandbox):
    TagFactory(id=4, name="old name")
    page = admin.get(TAGS_URL).content.decode()
    assert 'action="/admin/accounts/tag/refresh/"' in page
    assert admin.get(f"{TAGS_URL}refresh/").status_code == 405  # only a POST changes anything

    site_sandbox.fault(status=401, body="Invalid API key", endpoint="GET /Tags")
    failed = admin.post(f"{TAGS_URL}refresh/", follow=True)

    [message] = messages_of(failed)
    assert message.startswith("Could not refresh tags from Ontraport:")
    assert "401" in message
    assert Tag.objects.get(id=4).name == "old name"

    refreshed = admin.post(f"{TAGS_URL}refresh/", follow=True)
    assert messages_of(refreshed) == ["Refreshed tag names from Ontraport: it has 8 tags."]
    assert Tag.objects.get(id=4).name == "VIP"


def test_loading_from_ontraport_needs_add_and_change_permissions(site_sandbox):
    viewer = staff_client("accounts.view_tag", "accounts.view_fieldmapping", username="viewer")
    assert "refresh/" not in viewer.get(TAGS_URL).content.decode()
    assert viewer.post(f"{TAGS_URL}refresh/").status_code == 403
    assert viewer.post(f"{MAPPINGS_URL}load/").status_code == 403
    assert Tag.objects.count() == 0
    assert site_sandbox.stats()["requests"] == 0


# --- field mappings --------------------------------------------------------------------------------------


def test_load_fields_button_creates_disabled_mappings(admin, site_sandbox):
    page = admin.get(MAPPINGS_URL).content.decode()
    assert 'action="/admin/accounts/fieldmapping/load/"' in page
    before = set(FieldMapping.objects.values_list("ontraport_field", flat=True))

    response = admin.post(f"{MAPPINGS_URL}load/", follow=True)

    [message] = messages_of(response)
    new = FieldMapping.objects.exclude(ontraport_field__in=before)
    assert message.startswith(f"Loaded fields from Ontraport: {new.count()} new mappings")
    assert {"f1534", "f1535", "f1536", "city"} <= set(new.values_list("ontraport_field", flat=True))
    assert not new.filter(enabled=True).exists()


def test_load_fields_action_reports_an_ontraport_error(admin, site_sandbox):
    site_sandbox.fault(status=403, body="forbidden", endpoint="GET /Contacts/meta")
    count = FieldMapping.objects.count()
    mapping = FieldMapping.objects.first()

    response = admin.post(
        MAPPINGS_URL, {"action": "load_from_ontraport", "_selected_action": [str(mapping.pk)]}, follow=True
    )

    [message] = messages_of(response)
    assert message.startswith("Could not load fields from Ontraport:")
    assert FieldMapping.objects.count() == count


def test_mappings_are_switched_on_in_the_list(admin):
    mapping = FieldMappingFactory(
        ontraport_field="f1535", label="Membership Level", attribute="level", enabled=False
    )
    url = f"{MAPPINGS_URL}?q=f1535"
    assert admin.get(url).context["cl"].result_count == 1

    response = admin.post(
        url,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(mapping.pk),
            "form-0-enabled": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    mapping.refresh_from_db()
    assert mapping.enabled is True


def test_a_mapping_to_a_privileged_user_attribute_is_refused(admin):
    count = FieldMapping.objects.count()

    response = admin.post(
        f"{MAPPINGS_URL}add/",
        {"ontraport_field": "f1600", "target": "user", "attribute": "is_staff", "enabled": "on"},
    )

    assert response.status_code == 200
    assert "A user attribute must be one of: username, password, email, first_name, last_name." in (
        response.content.decode()
    )
    assert FieldMapping.objects.count() == count
