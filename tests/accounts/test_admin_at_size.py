"""The user list at size: filtered lists counted only up to a bound ("more than N") that still
page to the end, the search by part of a name on PostgreSQL's trigram index, and the link-table indexes
the tag and role filters read. Timings are in bench/admin.py, never here."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.admin.users import UserAdmin
from accounts.models import Tag
from accounts.paginator import CappedCountPaginator
from tests.support.factories import GroupFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
USERS_URL = "/admin/accounts/user/"


@pytest.fixture
def vip():
    return TagFactory(id=4, name="VIP")


def members(count: int, tag: Tag) -> list:
    # Hundreds of users and their tag rows, each in one statement: the size is the point (a factory's
    # create is a statement per user, and its tags another).
    users = User.objects.bulk_create([UserFactory.build(username=f"member{n:03}") for n in range(count)])
    User.tags.through.objects.bulk_create([User.tags.through(user_id=u.pk, tag_id=tag.pk) for u in users])
    return users


def count_line(response) -> str:
    paginator = re.search(r'<nav class="paginator".*?</nav>', response.content.decode(), re.S)
    assert paginator is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", paginator.group(0)).split())
    line = re.search(r"(more than )?\d+ users?", text)
    assert line is not None, text
    return line.group(0)


# --- the paginator -----------------------------------------------------------------------------------------


def test_a_filtered_list_is_counted_up_to_the_bound_past_the_page_asked_for(vip):
    members(23, vip)
    tagged = User.objects.filter(tags=vip).order_by("username")

    first = CappedCountPaginator(tagged, 5, page_number=1, count_ahead=10)
    assert (first.count, first.count_is_exact, first.num_pages) == (10, False, 2)
    assert [u.username for u in first.page(2)] == [f"member{n:03}" for n in range(5, 10)]

    # Asked for page 2, it counts to row 5 + 10: still a bound; the pages it links to reach further.
    second = CappedCountPaginator(tagged, 5, page_number=2, count_ahead=10)
    assert (second.count, second.count_is_exact, second.num_pages) == (15, False, 3)

    # Near the end the bound passes the real total: exact, and the last page holds the rest.
    last = CappedCountPaginator(tagged, 5, page_number=4, count_ahead=10)
    assert (last.count, last.count_is_exact, last.num_pages) == (23, True, 5)
    assert [u.username for u in last.page(5)] == ["member020", "member021", "member022"]


def test_the_bound_is_a_whole_number_of_pages_and_an_unfiltered_list_is_counted_exactly(vip):
    members(23, vip)

    odd = CappedCountPaginator(User.objects.filter(tags=vip).order_by("pk"), 5, count_ahead=12)
    assert (odd.count, odd.count_is_exact) == (15, False)  # 12 rounded up to three pages of 5
    # Never under two pages: a count that fits one page makes the admin list every row, unpaginated.
    one = CappedCountPaginator(User.objects.filter(tags=vip).order_by("pk"), 5, count_ahead=3)
    assert (one.count, one.count_is_exact, one.num_pages) == (10, False, 2)

    everyone = CappedCountPaginator(User.objects.order_by("pk"), 5, count_ahead=10)
    assert (everyone.count, everyone.count_is_exact) == (23, True)

    few = CappedCountPaginator(
        User.objects.filter(username__startswith="member00").order_by("pk"), 5, count_ahead=10
    )
    assert (few.count, few.count_is_exact) == (10, True)  # exactly at the bound is still exact


# --- the admin ---------------------------------------------------------------------------------------------


def test_a_big_filtered_user_list_says_more_than_and_pages_to_the_end(
    admin, vip, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(UserAdmin, "count_ahead", 100)
    monkeypatch.setattr(UserAdmin, "list_max_show_all", 50)
    members(163, vip)
    UserFactory(username="untagged")

    seen: list[str] = []
    lines = []
    for page in range(1, 5):
        with django_assert_max_num_queries(10):
            response = admin.get(USERS_URL, {"tags__id__exact": vip.pk, "p": page})
        assert response.status_code == 200
        seen += [user.username for user in response.context["cl"].result_list]
        lines.append(count_line(response))

    # Page 1 counts to 100 rows, page 2 to 150, page 3 to 200 (past the 163): exact from there on.
    assert lines == ["more than 100 users", "more than 150 users", "163 users", "163 users"]
    assert seen == [f"member{n:03}" for n in range(163)]  # every member once, in order, nobody else


@pytest.mark.parametrize(("page", "status"), [("9" * 30, 302), ("999999999", 302), ("-1", 302), ("x", 200)])
def test_a_page_number_out_of_range_or_not_a_number_is_refused_not_an_error(
    admin, vip, monkeypatch, page, status
):
    monkeypatch.setattr(UserAdmin, "count_ahead", 50)
    monkeypatch.setattr(UserAdmin, "list_max_show_all", 0)
    members(120, vip)
    response = admin.get(USERS_URL, {"tags__id__exact": vip.pk, "p": page})
    # The admin's own answers: a page that does not exist sends back to the list (?e=1), text is page 1.
    assert response.status_code == status


def test_a_list_not_counted_to_its_end_never_offers_show_all(admin, vip, monkeypatch):
    monkeypatch.setattr(UserAdmin, "count_ahead", 50)  # raised past list_max_show_all (200) + a page
    members(300, vip)

    response = admin.get(USERS_URL, {"tags__id__exact": vip.pk})
    assert count_line(response) == "more than 250 users"
    assert response.context["cl"].can_show_all is False
    assert len(admin.get(USERS_URL, {"tags__id__exact": vip.pk, "all": ""}).context["cl"].result_list) == 50


def test_select_all_says_more_than_rather_than_a_wrong_total(admin, vip, monkeypatch):
    monkeypatch.setattr(UserAdmin, "count_ahead", 50)
    monkeypatch.setattr(UserAdmin, "list_max_show_all", 10)
    members(120, vip)

    response = admin.get(USERS_URL, {"tags__id__exact": vip.pk})
    capped = response.content.decode()
    assert len(response.context["cl"].result_list) == 50  # paginated, whatever the bound
    assert "Select all users that match (more than 100)" in capped  # at least two pages of 50
    assert "Select all 100" not in capped
    assert "All users that match selected (more than 100)" in capped

    monkeypatch.setattr(UserAdmin, "count_ahead", 1000)
    exact = admin.get(USERS_URL, {"tags__id__exact": vip.pk}).content.decode()
    assert "Select all 120 users" in exact
    assert "more than" not in exact


def test_a_search_matching_many_says_more_than_results(admin, vip, monkeypatch):
    monkeypatch.setattr(UserAdmin, "count_ahead", 50)
    monkeypatch.setattr(UserAdmin, "list_max_show_all", 0)
    members(120, vip)

    html = admin.get(USERS_URL, {"q": "member"}).content.decode()
    assert "more than 100 results" in html
    assert "1 result" in admin.get(USERS_URL, {"q": "member007"}).content.decode()


def test_search_by_part_of_a_name_or_email_in_any_case(admin):
    dana = UserFactory(username="dana", email="dana.adams@example.com", first_name="Dana")
    UserFactory(username="okafor", email="amara@example.org", last_name="Okafor")
    UserFactory(username="someone", email="someone@example.net")
    UserFactory(username="sofia", email="sofia@example.org", last_name="Martínez")

    def found(term: str) -> set[str]:
        return {user.username for user in admin.get(USERS_URL, {"q": term}).context["cl"].result_list}

    assert found("ADAMS@EXAMPLE") == {dana.username}  # part of an e-mail
    assert found("kafo") == {"okafor"}  # part of a last name
    assert found("ana") == {"dana"}  # part of a first name and username
    assert found("example.") == {"dana", "okafor", "someone", "sofia"}
    assert found("martínez") == {"sofia"}  # beyond ASCII: pg_trgm's index rechecks every match
    assert found("zz") == set()


# --- the indexes -------------------------------------------------------------------------------------------


def explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_the_admin_search_uses_the_trigram_index_and_finds_the_same_users(rf):
    from django.contrib import admin as django_admin

    UserFactory(username="dana", email="dana.adams@example.com")
    UserFactory(username="sofia", email="sofia@example.org", last_name="Martínez")
    model_admin = django_admin.site.get_model_admin(User)

    def search(term: str):
        request = rf.get(USERS_URL, {"q": term})
        return model_admin.get_search_results(request, User.objects.all(), term)[0]

    with connection.cursor() as cursor:
        # With a handful of rows a scan is cheaper; forbid it to see whether the index fits the query at all
        # (it would not if the search compared LOWER() or used ILIKE), and that it finds what a scan finds.
        cursor.execute("SET enable_seqscan = off")
        try:
            assert "accounts_user_search_trgm" in explain(search("adams"))
            assert {user.username for user in search("ADAMS")} == {"dana"}
            assert {user.username for user in search("tínez")} == {"sofia"}
            assert {user.username for user in search("example.")} == {"dana", "sofia"}
        finally:
            cursor.execute("RESET enable_seqscan")


@pytest.mark.parametrize(
    ("table", "columns", "name"),
    [
        ("accounts_user_tags", ["tag_id", "user_id"], "accounts_user_tags_tag_user"),
        ("accounts_user_groups", ["group_id", "user_id"], "accounts_user_groups_group_user"),
    ],
)
def test_the_membership_filters_have_a_link_index_led_by_the_tag_or_group(table, columns, name):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert constraints[name]["columns"] == columns
    assert constraints[name]["index"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan; PostgreSQL picks by statistics")
def test_the_tag_filter_reads_member_ids_from_the_index_alone(vip):
    members(3, vip)
    link = User.tags.through.objects.filter(tag_id=vip.pk).values("user_id")
    plan = explain(User.objects.filter(pk__in=link))
    assert "COVERING INDEX accounts_user_tags_tag_user" in plan
    group = GroupFactory(name="customer")
    roles = User.groups.through.objects.filter(group_id=group.pk).values("user_id")
    assert "COVERING INDEX accounts_user_groups_group_user" in explain(User.objects.filter(pk__in=roles))
