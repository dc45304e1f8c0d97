"""Four real `manage.py db_worker` processes draining one queue on PostgreSQL: SKIP LOCKED gives each
delivery to exactly one worker, once. (SQLite serialises writers, so the race this guards against is
PostgreSQL's.)"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count

from tests.support.factories import contact_data
from tests.support.processes import enqueue_drain_in_database, site_env
from tests.support.waiting import wait_until
from webhooks.models import Delivery

User = get_user_model()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL"),
]

WORKERS = 4
DELIVERIES = 2000
CONTACTS = range(50_000, 50_000 + DELIVERIES)


@pytest.fixture
def workers(site_sandbox, processes) -> list:
    # Small claims, so the four workers really interleave over the 2,000 deliveries.
    env = site_env(site_sandbox, FUSION_BATCH_SIZE=50)
    return [processes.worker(env, name=f"worker{n}") for n in range(WORKERS)]


def test_four_workers_apply_each_delivery_exactly_once(site_sandbox, workers):
    site_sandbox.add_contacts([contact_data(i, prefix="w") for i in CONTACTS])
    # 2,000 rows in one statement (not a factory's one insert each): the backlog a burst leaves.
    Delivery.objects.bulk_create(
        [Delivery(action="add", contact_id=i, method="GET", path="/") for i in CONTACTS]
    )
    # A wake-up per worker, as a burst's throttled wake-ups (one per web process per 0.5 s) leave several
    # pending: a single wake-up is run by one worker, which would then drain everything alone. Enqueued
    # through the database backend the workers read (the tests' own backend runs tasks inline).
    for _ in range(WORKERS):
        enqueue_drain_in_database()

    unfinished = Delivery.objects.exclude(status__in=[Delivery.Status.DONE, Delivery.Status.FAILED])
    wait_until(lambda: not unfinished.exists(), timeout=240, what="the workers to drain 2,000 deliveries")

    assert all(process.poll() is None for process in workers)  # none crashed
    deliveries = Delivery.objects.filter(contact_id__in=CONTACTS)
    assert deliveries.count() == DELIVERIES
    assert set(deliveries.values_list("status", "attempts").distinct()) == {(Delivery.Status.DONE, 1)}
    assert User.objects.filter(contact_id__in=CONTACTS).count() == DELIVERIES
    assert not User.objects.values("contact_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    users = dict(User.objects.filter(contact_id__in=CONTACTS).values_list("contact_id", "pk"))
    assert all(users[d.contact_id] == d.user_id for d in deliveries.only("contact_id", "user_id"))
    assert deliveries.values("claimed_by").distinct().count() > 1  # the work was shared
