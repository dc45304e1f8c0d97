"""Linking a protected user to a contact by hand (the only way one gets linked), against the sandbox over
HTTP."""

import pytest

from accounts.services.contact_link import LinkRefused, user_link_contact
from tests.support.admin_clients import messages_of, staff_client
from tests.support.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
USERS_URL = "/admin/accounts/user/"


def link(admin, user, contact_id: str):
    return admin.post(f"{USERS_URL}{user.pk}/link-contact/", {"contact_id": contact_id}, follow=True)


def test_a_staff_user_is_linked_by_hand_and_unlinked(admin, site_sandbox):
    staff = StaffFactory(username="editor", email="editor@example.com")

    response = link(admin, staff, "3")

    assert messages_of(response) == ["editor is now linked to contact 3."]
    staff.refresh_from_db()
    assert staff.contact_id == 3
    assert "app.ontraport.com/#!/contact/edit&amp;id=3" in response.content.decode()

    assert messages_of(link(admin, staff, "")) == ["editor is now unlinked from Ontraport."]
    staff.refresh_from_db()
    assert staff.contact_id is None


@pytest.mark.parametrize(
    ("contact_id", "message"),
    [
        ("9999", "Ontraport has no contact 9999."),
        ("1", "Contact 1 is already linked to user dana."),
        ("abc", "A contact id is a positive whole number."),
    ],
)
def test_a_link_that_cannot_be_made_is_refused_in_words(admin, site_sandbox, contact_id, message):
    UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    staff = StaffFactory(username="editor", email="editor@example.com")

    response = link(admin, staff, contact_id)

    assert messages_of(response) == [message]
    staff.refresh_from_db()
    assert staff.contact_id is None


def test_linking_needs_the_change_permission(site_sandbox):
    staff = StaffFactory(username="editor", email="editor@example.com")
    viewer = staff_client("accounts.view_user", username="viewer")

    response = viewer.post(f"{USERS_URL}{staff.pk}/link-contact/", {"contact_id": "3"})

    assert response.status_code == 403
    staff.refresh_from_db()
    assert staff.contact_id is None


def test_the_service_refuses_a_contact_taken_without_asking_ontraport():
    UserFactory(username="dana", email="dana@example.com", contact_id=1)
    other = UserFactory(username="other", email="other@example.com")
    with pytest.raises(LinkRefused, match="already linked"):
        user_link_contact(user=other, contact_id=1)
