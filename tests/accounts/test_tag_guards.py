"""Tags guard content: the decorator, the mixin, the filter and has_perm, through real views wired in a
test URLconf (tests/support/tag_guards_urls.py), Django's test client, sessions and templates."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject
from django.views.generic import View

from accounts.checks import unknown_guard_tags_check
from accounts.models import Tag, User
from accounts.services.tags import TagChange, user_tags_write
from accounts.tag_guards import (
    TagsRequiredMixin,
    tags_required,
    user_has_tags,
    user_tags_forget,
    user_tags_read,
)
from tests.support.factories import TagFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.tag_guards_urls")]

MEMBERS, CUSTOMERS, VIP, GOLD = 1, 2, 4, 5
DENIED_HEADING = "Your account does not include this page"


@pytest.fixture
def tags() -> None:
    names = {MEMBERS: "Members", CUSTOMERS: "Customers", VIP: "VIP", GOLD: "Gold Members"}
    for tag_id, name in names.items():
        TagFactory(id=tag_id, name=name)


def member(*tag_ids: int, username: str = "dana", **fields: Any) -> User:
    # No password: the client logs in with force_login, so no test pays for a PBKDF2 hash.
    user = UserFactory(username=username, tags=tag_ids, **fields)
    return User.objects.get(pk=user.pk)  # a fresh object, as each request has


def signed_in(client: Any, user: User) -> Any:
    client.force_login(user)
    return client


# --- the decorator ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/guarded/members/", "/guarded/lessons/", "/guarded/async/"])
def test_anonymous_visitors_are_sent_to_log_in_and_back(client: Any, path: str) -> None:
    response = client.get(f"{path}?page=2")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}%3Fpage%3D2"


def test_the_login_url_is_djangos_setting(client: Any, settings: Any) -> None:
    settings.LOGIN_URL = "/join/log-in/"
    assert client.get("/guarded/members/")["Location"].startswith("/join/log-in/?next=")


@pytest.mark.parametrize("path", ["/guarded/members/", "/guarded/lessons/", "/guarded/async/"])
def test_a_user_with_the_tag_sees_the_page(client: Any, tags: None, path: str) -> None:
    response = signed_in(client, member(MEMBERS)).get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/guarded/vip/", "/guarded/lessons/", "/guarded/async/"])
def test_a_user_without_the_tag_is_refused_with_a_page_that_names_no_tag(
    client: Any, tags: None, path: str
) -> None:
    response = signed_in(client, member(CUSTOMERS)).get(path)
    assert response.status_code == 403
    page = response.content.decode()
    assert DENIED_HEADING in page
    for name in ("VIP", "Members", "Customers", "Gold"):
        assert name.lower() not in page.lower()


def test_the_denied_url_setting_redirects_instead(client: Any, tags: None, settings: Any) -> None:
    signed_in(client, member(CUSTOMERS))
    settings.FUSION_TAG_DENIED_URL = "/join/"
    assert client.get("/guarded/vip/")["Location"] == "/join/"
    settings.FUSION_TAG_DENIED_URL = "home"  # a URL name, as LOGIN_URL may be
    response = client.get("/guarded/lessons/")
    assert (response.status_code, response["Location"]) == (302, "/")
    # Anonymous visitors are still asked to log in first.
    client.logout()
    assert client.get("/guarded/vip/")["Location"].startswith("/accounts/login/")


def test_several_tags_all_or_any(client: Any, tags: None) -> None:
    signed_in(client, member(MEMBERS))
    assert client.get("/guarded/members-and-vip/").status_code == 403
    assert client.get("/guarded/gold-or-vip/").status_code == 403
    assert client.get("/guarded/gold-or-vip-class/").status_code == 403
    signed_in(client, member(MEMBERS, GOLD, username="gold"))
    assert client.get("/guarded/gold-or-vip/").status_code == 200
    assert client.get("/guarded/gold-or-vip-class/").status_code == 200  # by name
    assert client.get("/guarded/members-and-vip/").status_code == 403
    signed_in(client, member(MEMBERS, VIP, username="vip"))
    assert client.get("/guarded/members-and-vip/").status_code == 200
    assert client.get("/guarded/gold-or-vip-class/").status_code == 200  # by id


def test_tags_are_compared_by_id_a_renamed_tag_follows_its_name(client: Any, tags: None) -> None:
    signed_in(client, member(VIP))
    assert client.get("/guarded/by-id/").status_code == 200
    assert client.get("/guarded/vip/").status_code == 200
    Tag.objects.filter(id=VIP).update(name="VIP (old)")  # renamed in Ontraport, the list refreshed
    assert client.get("/guarded/by-id/").status_code == 200
    assert client.get("/guarded/vip/").status_code == 403
    # Another tag taking the old name does not let the holder of the renamed one in.
    TagFactory(id=40, name="VIP")
    assert client.get("/guarded/vip/").status_code == 403


def test_a_tag_whose_name_is_not_known_yet_grants_nothing_by_name(client: Any) -> None:
    TagFactory(id=MEMBERS, name="")  # an id first seen on a contact, before the list is read
    signed_in(client, member(MEMBERS))
    assert client.get("/guarded/members/").status_code == 403
    Tag.objects.filter(id=MEMBERS).update(name="Members")
    assert client.get("/guarded/members/").status_code == 200


def test_a_tag_name_no_tag_has_denies_everyone(client: Any, tags: None) -> None:
    signed_in(client, member(MEMBERS, CUSTOMERS, VIP, GOLD))
    assert client.get("/guarded/unknown/").status_code == 403


def test_a_guard_needs_tags_that_are_names_or_ids() -> None:
    with pytest.raises(ValueError, match="at least one"):
        tags_required()
    for wrong in (True, None, 1.5, "", ["Members"]):
        with pytest.raises(TypeError, match="by name"):
            tags_required(wrong)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='"all" or "any"'):
        tags_required("Members", match="one")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="by name"):

        class Lounge(TagsRequiredMixin, View):
            required_tags = ("VIP", None)  # type: ignore[assignment]


def test_a_class_based_view_without_tags_refuses_to_serve(client: Any, tags: None) -> None:
    signed_in(client, member(MEMBERS))
    with pytest.raises(ImproperlyConfigured, match="required_tags"):
        client.get("/guarded/no-tags-set/")


def test_inactive_users_have_no_tags(tags: None) -> None:
    user = member(MEMBERS, VIP, is_active=False)
    assert user_tags_read(user=user).ids == frozenset()
    assert not user_has_tags(user=user, tags=["Members"])
    assert not user.has_perm("tags.Members")
    template = engines["django"].from_string("{% load tag_guards %}{{ user|has_tag:'Members' }}")
    assert template.render({"user": user}) == "False"
    assert user.tags.count() == 2  # kept for when the account is active again


def test_a_superuser_passes_has_perm_but_not_the_tag_guards(client: Any, tags: None) -> None:
    owner = member(is_superuser=True, is_staff=True)
    assert owner.has_perm("tags.Members")  # Django's rule for every permission
    signed_in(client, owner)
    assert client.get("/guarded/permission/").status_code == 200
    assert client.get("/guarded/members/").status_code == 403  # a tag guard checks tags only


# --- has_perm and Django's own permission checks -----------------------------------------------------


@pytest.mark.parametrize("path", ["/guarded/permission/", "/guarded/permission-class/"])
def test_djangos_permission_checks_answer_from_tags(client: Any, tags: None, path: str) -> None:
    signed_in(client, member(CUSTOMERS))
    assert client.get(path).status_code == 403
    signed_in(client, member(MEMBERS, username="liam"))
    assert client.get(path).status_code == 200


def test_has_perm_by_name_and_what_it_does_not_grant(tags: None) -> None:
    user = member(MEMBERS, GOLD)
    assert user.has_perm("tags.Members")
    assert user.has_perm("tags.Gold Members")
    assert user.has_perms(["tags.Members", "tags.Gold Members"])
    assert not user.has_perm("tags.VIP")
    assert not user.has_perm("tags.")
    assert not user.has_perm("tags.Members", obj=user)  # object permissions are not a tag's business
    assert not user.has_perm("accounts.view_user")  # tags grant no model permission
    assert user.has_module_perms("tags")
    assert not user.has_module_perms("accounts")
    assert user.get_all_permissions() == {"tags.Members", "tags.Gold Members"}


def test_djangos_async_permission_checks_answer_from_tags(tags: None) -> None:
    user = member(MEMBERS)
    assert async_to_sync(user.ahas_perm)("tags.Members")
    assert not async_to_sync(user.ahas_perm)("tags.VIP")
    assert async_to_sync(user.ahas_module_perms)("tags")
    assert async_to_sync(user.aget_all_permissions)() == {"tags.Members"}


def test_the_model_backend_is_not_weakened(client: Any, tags: None) -> None:
    user = member(MEMBERS)
    user.set_password("a-password-the-user-chose")
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    user = User.objects.get(pk=user.pk)
    assert user.has_perm("accounts.view_user")  # ModelBackend still answers its own permissions
    assert user.has_perm("tags.Members")
    assert client.login(username="dana", password="a-password-the-user-chose")  # ModelBackend authenticates
    assert not client.login(username="dana", password="wrong")
    user.is_active = False
    user.save()
    assert not client.login(username="dana", password="a-password-the-user-chose")


def test_a_template_shows_what_the_users_tags_allow(client: Any, tags: None) -> None:
    page = signed_in(client, member(MEMBERS, VIP)).get("/guarded/checks/").content.decode()
    assert "<p id=members>member</p>" in page
    assert "<p id=gold>not gold</p>" in page
    assert "<p id=vip>vip</p>" in page  # by id
    assert "<p id=perm>perm</p>" in page
    assert "<p id=any>some tag</p>" in page
    client.logout()
    page = client.get("/guarded/checks/").content.decode()
    assert "<p id=members>not a member</p>" in page
    assert "<p id=perm>no perm</p>" in page
    assert "<p id=any>no tag</p>" in page


# --- the cost: one query for the first check of a request, none after ---------------------------------


def test_a_check_costs_no_query_after_the_first(django_assert_num_queries: Any, tags: None) -> None:
    user = member(MEMBERS, VIP)
    with django_assert_num_queries(1):
        assert user_has_tags(user=user, tags=["Members"])
    # has_perm asks ModelBackend first, which reads the user's own and groups' permissions once per user
    # object (Django's cache); the tags are not read again.
    with django_assert_num_queries(2) as captured:
        assert user.has_perm("tags.Members")
    assert not [query for query in captured.captured_queries if "accounts_tag" in query["sql"]]
    with django_assert_num_queries(0):
        for _ in range(100):
            assert user_has_tags(user=user, tags=["Members", VIP])
            assert not user_has_tags(user=user, tags=["Gold Members"])
            assert user.has_perm("tags.VIP")
            assert not user.has_perm("tags.Unknown")
    # Code that changes tags by hand and checks again in the same request forgets the reading first.
    user.tags.add(GOLD)
    assert not user_has_tags(user=user, tags=["Gold Members"])
    user_tags_forget(user=user)
    with django_assert_num_queries(1):
        assert user_has_tags(user=user, tags=["Gold Members"])


def test_the_sites_own_tag_writes_are_seen_by_the_next_check(rf: Any, tags: None) -> None:
    request = rf.get("/")
    request.user = SimpleLazyObject(lambda: member(MEMBERS))  # as AuthenticationMiddleware sets it
    assert user_has_tags(user=request.user, tags=["Members"])
    assert not user_has_tags(user=request.user, tags=["VIP"])
    user_tags_write(
        changes=[TagChange(user=request.user, applied=frozenset({VIP}), removed=frozenset({MEMBERS}))]
    )
    assert user_has_tags(user=request.user, tags=["VIP"])
    assert not user_has_tags(user=request.user, tags=["Members"])


def test_a_request_with_many_checks_costs_one_query_for_them(client: Any, tags: None) -> None:
    signed_in(client, member(MEMBERS, VIP))

    def queries(path: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    # A guarded view: the session, the user, the user's tags.
    guarded = queries("/guarded/members/")
    assert len(guarded) == 3
    assert "accounts_tag" in guarded[2]
    # The checks page: 10 has_perm in the view, then 5 + 2 * N checks in its template. has_perm adds
    # ModelBackend's own two reads (permissions, once per request); N adds nothing.
    few_checks = queries("/guarded/checks/?repeat=1")
    many_checks = queries("/guarded/checks/?repeat=500")
    assert len(few_checks) == len(many_checks) == 5
    assert len([sql for sql in many_checks if "accounts_tag" in sql]) == 1


# --- manage.py check ---------------------------------------------------------------------------------


def test_check_names_a_guards_tag_that_no_tag_has(tags: None) -> None:
    warnings = unknown_guard_tags_check()
    assert [w.id for w in warnings] == ["fusion.W012"]
    assert "'A Tag Nobody Made'" in warnings[0].msg
    TagFactory(id=99, name="A Tag Nobody Made")
    assert unknown_guard_tags_check() == []
    Tag.objects.filter(id=VIP).delete()  # a guard by id (4) and by name ("VIP") now name nothing
    assert sorted(w.msg.split(",")[0] for w in unknown_guard_tags_check()) == [
        "A tag guard requires the tag 'VIP'",
        "A tag guard requires the tag 4",
    ]
