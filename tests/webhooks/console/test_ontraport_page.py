"""The Ontraport page: connection status in words for each failure, the sandbox named, URLs without the
key in the source, the key only for superusers and only by POST, the last 24 hours in a bounded number of
queries, and "Send a test webhook" firing a real HTTP request at the live site and following it."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape

from tests.support.admin_clients import messages_of, staff_client
from tests.support.factories import DeliveryFactory, RunFactory, UserFactory
from tests.support.waiting import wait_until
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
PAGE = "/admin/ontraport/"


def test_the_admin_index_links_to_the_page(admin, site_sandbox):
    assert f'href="{PAGE}"' in admin.get("/admin/").content.decode()


def test_connected_to_the_sandbox_named_as_such_with_the_call_budget(admin, site_sandbox, access_key):
    site_sandbox.reset(data="demo", rate_limit=180)

    response = admin.get(PAGE)

    html = response.content.decode()
    assert response.status_code == 200
    connection = response.context["connection"]
    assert (connection.ok, connection.headline) == (True, "Connected")
    assert connection.endpoint.startswith("the local Ontraport sandbox")
    assert (connection.calls_limit, connection.calls_remaining) == (180, 179)
    assert "179 of 180 calls left" in html
    # The URLs are there, the key is not (not even percent-encoded): a click fetches it.
    assert "wpf_action=update_tags&amp;access_key=KEY-HIDDEN&amp;contact_id=[Contact ID]" in html
    assert access_key not in html
    assert "/webhooks/ontraport/events/?access_key=KEY-HIDDEN" in html


@pytest.mark.parametrize(
    ("setup", "headline"),
    [
        ({"ONTRAPORT_API_KEY": "wrong-key"}, "Wrong credentials"),
        ({"ONTRAPORT_API_URL": "http://127.0.0.1:9/1/"}, "No network"),
        ({"ONTRAPORT_APP_ID": ""}, "Not configured"),
    ],
)
def test_connection_failures_in_words(admin, site_sandbox, settings, setup, headline):
    for name, value in setup.items():
        setattr(settings, name, value)

    response = admin.get(PAGE)

    assert response.status_code == 200
    assert response.context["connection"].headline == headline
    assert "wrong-key" not in response.content.decode()
    if headline == "No network":
        # The reason in words, not the HTTP library's exception cut mid-word.
        detail = response.context["connection"].detail
        assert "127.0.0.1 refused the connection on port 9 (nothing listens there)" in detail
        assert "HTTPConnectionPool" not in detail and "Errno" not in detail


def test_rate_limited_in_words(admin, site_sandbox):
    site_sandbox.reset(data="demo", rate_limit=1)
    assert admin.get(PAGE).context["connection"].ok  # spends the only call of the window

    response = admin.get(PAGE)

    connection = response.context["connection"]
    assert connection.headline == "Rate-limited"
    assert "frees up in" in connection.detail
    assert connection.calls_remaining == 0


def test_a_server_error_in_words(admin, site_sandbox):
    site_sandbox.fault(status=503)
    assert admin.get(PAGE).context["connection"].headline == "Ontraport is failing"


def test_the_key_is_revealed_to_superusers_by_post_only(admin, site_sandbox, access_key):
    assert admin.get(f"{PAGE}access-key/").status_code == 405
    response = admin.post(f"{PAGE}access-key/")
    assert response.json() == {"access_key": access_key}
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]

    staff = staff_client("webhooks.view_delivery")
    assert staff.post(f"{PAGE}access-key/").status_code == 403
    page = staff.get(PAGE).content.decode()
    assert "Only superusers can see the key" in page
    assert access_key not in page


def test_the_page_is_for_staff_only(client, site_sandbox):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    nobody = UserFactory(username="customer")
    client.force_login(nobody)
    assert client.get(PAGE).status_code == 302
    assert client.post(f"{PAGE}access-key/").status_code == 302


def test_settings_are_shown_with_secrets_masked(admin, site_sandbox, settings):
    settings.FUSION_DEFAULT_ROLE = "member"
    settings.FUSION_RETURN_PASSWORD_FIELD = "f1600"
    html = admin.get(PAGE).content.decode()
    assert "<td>member</td>" in html and "<td>f1600</td>" in html
    assert settings.ONTRAPORT_API_KEY not in html.replace("ONTRAPORT_API_KEY", "")
    assert f"set ({len(settings.FUSION_ACCESS_KEY)} characters, hidden)" in html


def test_the_last_24_hours_in_a_bounded_number_of_queries(admin, site_sandbox, django_assert_max_num_queries):
    now = timezone.now()
    old = now - datetime.timedelta(days=2)
    user = UserFactory(username="dana", email="dana@example.com", contact_id=1)
    for n, (status, when, extra) in enumerate(
        [("done", now, {"user": user})] * 30
        + [("failed", now, {"reason": "no_email", "message": "contact has no e-mail"})] * 15
        + [("failed", old, {"reason": "not_found"})] * 5
        # Due 20 minutes ago and never taken: a real alarm.
        + [
            (
                "pending",
                now - datetime.timedelta(minutes=20),
                {"next_attempt_at": now - datetime.timedelta(minutes=20)},
            )
        ]
        * 3
        # Arrived 16 minutes ago, waiting for its scheduled retry: no alarm (it was aged by arrival).
        + [
            (
                "pending",
                now - datetime.timedelta(minutes=16),
                {"next_attempt_at": now + datetime.timedelta(minutes=4), "attempts": 1},
            )
        ]
        * 2
        + [("rejected", now, {"reason": "missing_contact_id", "action": "invalid"})] * 2
    ):
        DeliveryFactory(contact_id=n, status=status, received_at=when, **extra)

    with django_assert_max_num_queries(12):
        response = admin.get(PAGE)

    health = response.context["health"]
    assert health.by_status == {"pending": 5, "processing": 0, "done": 30, "failed": 15, "rejected": 2}
    assert health.queue_depth == 5
    assert 19 * 60 < health.overdue.total_seconds() < 21 * 60  # by when they were due
    assert health.retries_scheduled == 2
    assert len(health.latest_failures) == 10
    html = response.content.decode()
    assert "a delivery has been due for 20 minutes" in html
    assert "2 waiting for a retry at its scheduled time" in html
    assert "No worker has ever run" in html  # telemetry's heartbeats: none in this test
    assert "trigger the rule on a tag instead of" in html  # what to do about no_email
    assert html.count('href="/admin/webhooks/delivery/') >= 10


def test_send_a_test_webhook_follows_it_to_done(admin, site_sandbox, access_key, settings, live_server):
    settings.SITE_URL = live_server.url

    response = admin.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": "add"})

    assert response.status_code == 302, messages_of(admin.get(PAGE))
    delivery = Delivery.objects.get()
    assert response["Location"] == f"{PAGE}test-webhook/{delivery.pk}/"
    assert delivery.path == "/?wpf_action=add&contact_id=1"  # the key went in the body, in no URL

    def outcome_page():
        page = admin.get(response["Location"])
        return None if page.context["waiting"] else page

    html = wait_until(outcome_page, timeout=10, what="the outcome").content.decode()
    assert 'class="badge badge-done"' in html
    assert "created user dana.adams@example.com" in html
    user = User.objects.get(contact_id=1)
    assert f'href="/admin/accounts/user/{user.pk}/change/"' in html


def test_a_test_webhook_that_fails_shows_the_reason(admin, site_sandbox, access_key, settings, live_server):
    settings.SITE_URL = live_server.url
    response = admin.post(f"{PAGE}test-webhook/", {"contact_id": "424242", "action": "update"}, follow=True)
    html = response.content.decode()
    assert 'class="badge badge-failed"' in html
    assert "not_found" in html
    # The advice the delivery's own page gives (webhooks.reason_advice), not only the code.
    from webhooks.reason_advice import reason_advice

    assert 'id="op-test-advice"' in html
    assert escape(reason_advice("not_found")) in html


def test_a_test_webhook_to_a_wrong_site_url_says_what_to_check(admin, site_sandbox, access_key, settings):
    settings.SITE_URL = "http://127.0.0.1:9"
    response = admin.post(f"{PAGE}test-webhook/", {"contact_id": "1", "action": "update"}, follow=True)
    [message] = messages_of(response)
    assert "got no answer" in message and "Check SITE_URL" in message
    assert access_key not in message
    assert not Delivery.objects.exists()


def test_a_test_webhook_needs_a_contact_id(admin, site_sandbox):
    response = admin.post(
        f"{PAGE}test-webhook/", {"contact_id": "[Contact ID]", "action": "add"}, follow=True
    )
    assert messages_of(response) == ["Enter a contact id (a positive whole number) and choose an action."]


def test_the_header_form_of_the_key_and_the_recent_runs(admin, site_sandbox, access_key):

    owner = User.objects.get(username="root")
    RunFactory(resync=True, started_from="admin", started_by=owner)
    RunFactory(arguments={"tag_id": 4, "tag_name": "VIP"}, started_from="command")

    html = admin.get(PAGE).content.decode()

    headers = html[html.index('id="op-header-urls"') :]
    headers = headers[: headers.index("</table>")]
    assert "X-Fusion-Access-Key: KEY-HIDDEN" in headers
    assert "wpf_action=add&amp;contact_id=[Contact ID]" in headers  # the URL carries no key
    assert "access_key" not in headers
    runs = html[html.index('id="runs"') :]
    assert "Import #" in runs and "tag VIP" in runs
    assert "Resync #" in runs and "all linked users" in runs and ">root<" in runs
    assert "<td>24h</td>" in html or "FUSION_RESYNC_EVERY" in html


def test_a_delivery_waiting_for_its_scheduled_retry_is_no_alarm(admin, site_sandbox):
    """Received 16 minutes ago, due again in 4: the page says it waits for its retry, not that a worker is
    missing (the old page aged deliveries by arrival and cried "is the worker running?")."""
    now = timezone.now()
    DeliveryFactory(
        contact_id=1,
        action="update",
        attempts=1,
        received_at=now - datetime.timedelta(minutes=16),
        next_attempt_at=now + datetime.timedelta(minutes=4),
    )
    html = admin.get(PAGE).content.decode()
    assert "has been due for" not in html
    assert "1 waiting for a retry at its scheduled time" in html


def test_a_name_that_does_not_resolve_is_said_in_words():
    from webhooks.console.connection import unreachable_why

    assert (
        unreachable_why("https://no-such-host.invalid/1/")
        == "the name no-such-host.invalid could not be resolved (DNS)"
    )
