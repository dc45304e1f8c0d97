"""The frame of every admin page and of the pages members reach: the site's name instead of "Django
administration", and the worker-down warning on every admin page while no worker runs."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.support.factories import UserFactory
from webhooks.telemetry.heartbeat import worker_heartbeat_beat

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("database_tasks")
@pytest.mark.parametrize(
    "page", ["/admin/", "/admin/accounts/user/", "/admin/accounts/tag/", "/admin/ontraport/"]
)
def test_every_admin_page_warns_while_no_worker_runs(admin, page):
    html = admin.get(page).content.decode()
    assert 'id="worker-warning"' in html
    assert "No worker has ever run" in html

    worker_heartbeat_beat(worker_id="w")
    assert 'id="worker-warning"' not in admin.get(page).content.decode()


@pytest.mark.usefixtures("database_tasks")
def test_the_warning_costs_two_small_queries_and_is_not_shown_to_visitors(
    admin, client, django_assert_num_queries
):
    assert 'id="worker-warning"' not in client.get("/admin/login/").content.decode()
    worker_heartbeat_beat(worker_id="w")
    admin.get("/admin/")
    with CaptureQueriesContext(connection) as counted:
        admin.get("/admin/")
    heartbeat_reads = [q for q in counted.captured_queries if "telemetry_workerheartbeat" in q["sql"]]
    assert len(heartbeat_reads) == 2


def test_no_warning_when_webhooks_are_applied_inline(admin):
    assert 'id="worker-warning"' not in admin.get("/admin/").content.decode()  # ImmediateBackend


@override_settings(FUSION_SITE_NAME="Acme Members")
def test_the_sites_name_on_the_admin_the_home_page_and_the_set_password_page(admin, client):
    assert "Acme Members administration" in admin.get("/admin/").content.decode()
    member = UserFactory(username="newbie", email="newbie@example.com")
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    token = default_token_generator.make_token(member)
    # The welcome e-mail's link: Django redirects it once to a URL without the token.
    response = client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    html = response.content.decode()
    assert "Choose your password" in html and "Acme Members" in html
    assert "Django" not in html
    home = client.get("/").content.decode()
    assert "Welcome to Acme Members" in home and "Log in" in home
    assert "Django" not in client.get("/accounts/login/").content.decode()
