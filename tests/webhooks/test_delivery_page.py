"""A delivery's page reads top-down (what arrived, what was done to which user, why it failed, what to do),
has a Replay button, and the log has status badges and filters, all in a bounded number of queries."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.support.admin_clients import messages_of, staff_client
from tests.support.factories import DeliveryFactory, RunFactory
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
LOG = "/admin/webhooks/delivery/"


def failed_delivery(**fields: object) -> Delivery:
    """Contact 1's add, failed once for want of an e-mail, in an old row whose path still holds a key."""
    values: dict[str, object] = {
        "action": "add",
        "method": "POST",
        "path": "/?wpf_action=add&access_key=secret-in-an-old-row&contact_id=1",
        "reason": "no_email",
        "message": "contact 1 has no e-mail address",
        "attempts": 1,
        "finished_at": timezone.now(),
    }
    return DeliveryFactory(failed=True, **(values | fields))


def test_the_page_tells_the_story_and_what_to_do(admin, django_assert_max_num_queries):
    delivery = failed_delivery()

    with django_assert_max_num_queries(12):
        response = admin.get(f"{LOG}{delivery.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    story = html[html.index('id="delivery-story"') :]
    order = [
        story.index(h) for h in ("What arrived", "What was done", "Why it failed", "What to do about it")
    ]
    assert order == sorted(order)
    assert "secret-in-an-old-row" not in html
    assert "access_key=***" in html
    assert 'href="https://app.ontraport.com/#!/contact/edit&amp;id=1"' in html
    assert "trigger the rule on a tag instead of" in html
    assert 'id="op-replay"' in html


def test_replay_from_the_page_processes_it_again(admin, site_sandbox):
    delivery = failed_delivery()  # demo contact 1 has an e-mail now: the replay creates the user

    response = admin.post(f"{LOG}{delivery.pk}/replay/", follow=True)

    assert messages_of(response) == [f"Delivery #{delivery.pk} replayed: it is processed again now."]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE, delivery.message
    assert delivery.user == User.objects.get(contact_id=1)
    html = response.content.decode()
    assert '<span class="badge badge-done" id="op-delivery-status">Done</span>' in html


def test_a_pending_delivery_has_no_replay_button_and_replaying_it_is_refused(admin):
    delivery = failed_delivery(status="pending", reason="", finished_at=None)
    assert 'id="op-replay"' not in admin.get(f"{LOG}{delivery.pk}/change/").content.decode()
    response = admin.post(f"{LOG}{delivery.pk}/replay/", follow=True)
    assert "can be replayed" in messages_of(response)[0]
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_replay_needs_the_change_permission():
    delivery = failed_delivery()
    viewer = staff_client("webhooks.view_delivery")
    assert 'id="op-replay"' not in viewer.get(f"{LOG}{delivery.pk}/change/").content.decode()
    assert viewer.post(f"{LOG}{delivery.pk}/replay/").status_code == 403


def test_the_log_filters_by_status_action_reason_and_date_with_badges(admin, django_assert_max_num_queries):
    failed_delivery()
    failed_delivery(action="update", reason="not_found")
    old = failed_delivery(reason="gave_up")
    Delivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - datetime.timedelta(days=40))
    DeliveryFactory(done=True, action="update_tags", contact_id=2)

    with django_assert_max_num_queries(12):
        response = admin.get(LOG, {"status__exact": "failed", "action__exact": "add"})
    assert len(response.context["cl"].result_list) == 2
    assert '<span class="badge badge-failed">Failed</span>' in response.content.decode()

    by_reason = admin.get(LOG, {"reason": "not_found"})
    assert [d.reason for d in by_reason.context["cl"].result_list] == ["not_found"]
    since = (timezone.now() - datetime.timedelta(days=7)).isoformat()
    recent = admin.get(LOG, {"received_at__gte": since})
    assert old.pk not in {d.pk for d in recent.context["cl"].result_list}
    assert len(recent.context["cl"].result_list) == 3


def test_every_attempt_and_its_outcome_is_on_the_page(admin, site_sandbox, django_assert_max_num_queries):
    from webhooks.tasks import process_deliveries

    delivery = DeliveryFactory(action="add", contact_id=3)
    site_sandbox.fault(status=503, count=1, endpoint="GET /Contacts")
    process_deliveries.call()  # attempt 1: Ontraport failing, retried later
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    process_deliveries.call()  # attempt 2: done

    attempts = list(delivery.attempt_log.values_list("number", "status", "reason"))
    assert attempts == [(1, "pending", "retrying"), (2, "done", "")]
    with django_assert_max_num_queries(12):
        html = admin.get(f"{LOG}{delivery.pk}/change/").content.decode()
    log = html[html.index('id="op-attempts"') :]
    log = log[: log.index("</table>")]
    assert log.count("<tr>") == 3  # a header and two attempts
    assert "attempt 1 failed: Ontraport error" in log
    assert log.index("badge-pending") < log.index("badge-done")


def test_pruning_the_log_takes_the_attempts_with_it(site_sandbox):
    from webhooks.models import DeliveryAttempt
    from webhooks.services.retention import deliveries_prune
    from webhooks.tasks import process_deliveries

    delivery = DeliveryFactory(action="add", contact_id=3)
    process_deliveries.call()
    Delivery.objects.filter(pk=delivery.pk).update(received_at=timezone.now() - datetime.timedelta(days=400))

    assert deliveries_prune(older_than_days=90) == 1
    assert not DeliveryAttempt.objects.exists()


def test_imported_rows_say_so_in_the_list_and_on_their_page(admin):
    run = RunFactory(started_from="admin")  # an import of tag 1, "Members"
    imported = DeliveryFactory(imported=True, run=run, failed=True, reason="no_email")
    webhook = failed_delivery(source_ip="203.0.113.9")

    listing = admin.get(LOG).content.decode()
    assert f'<td class="field-source_label">Import #{run.pk}</td>' in listing
    assert '<td class="field-source_label">Webhook</td>' in listing
    page = admin.get(f"{LOG}{imported.pk}/change/").content.decode()
    assert "an unknown address" not in page
    assert "written by the import itself" in page
    assert "from 203.0.113.9" in admin.get(f"{LOG}{webhook.pk}/change/").content.decode()
    only_imports = admin.get(f"{LOG}?source__exact=import")
    assert [d.pk for d in only_imports.context["cl"].result_list] == [imported.pk]
