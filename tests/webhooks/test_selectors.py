"""The reads of the deliveries log that have no page of their own to be tested through."""

import pytest
from django.db.models import Q

from tests.support.factories import DeliveryFactory, RunFactory, UserFactory
from webhooks.models import Delivery
from webhooks.selectors import FINISHED_STATUSES, deliveries_of_user_count

pytestmark = pytest.mark.django_db


def test_the_waiting_statuses_are_the_ones_the_partial_index_holds():
    (index,) = [index for index in Delivery._meta.indexes if index.name == "webhooks_delivery_ready_idx"]

    assert index.condition == Q(status__in=list(Delivery.WAITING_STATUSES))
    assert set(Delivery.WAITING_STATUSES) == {"pending", "processing"}
    assert set(FINISHED_STATUSES) == set(Delivery.Status) - set(Delivery.WAITING_STATUSES)


def test_a_users_deliveries_are_counted_webhooks_and_runs_rows_alike():
    user, other = UserFactory(username="ada"), UserFactory(username="bob")
    run = RunFactory(resync=True)
    for fields in ({"user": user}, {"user": user, "source": "resync", "run": run}, {"user": other}, {}):
        DeliveryFactory(**fields)

    assert deliveries_of_user_count(user_id=user.pk) == 2
    assert deliveries_of_user_count(user_id=other.pk) == 1
    assert deliveries_of_user_count(user_id=UserFactory(username="cy").pk) == 0
