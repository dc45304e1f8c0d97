"""Searching users by a whole e-mail address goes by its key (any case, an index); partial text still
matches names and e-mails."""

import pytest

from tests.support.admin_clients import superuser_client
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_whole_address_in_any_case_finds_the_user_by_its_key(django_assert_max_num_queries):
    admin = superuser_client()
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1)
    UserFactory(username="dana2", email="dana.adams@example.org", contact_id=2)

    with django_assert_max_num_queries(10):
        found = admin.get("/admin/accounts/user/", {"q": " Dana.Adams@EXAMPLE.com "})
    assert [user.pk for user in found.context["cl"].result_list] == [dana.pk]

    partial = admin.get("/admin/accounts/user/", {"q": "dana.adams"})
    assert len(partial.context["cl"].result_list) == 2
