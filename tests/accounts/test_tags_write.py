"""Tag changes written for many users at once (a worker's chunk): the result is the one-by-one result."""

import pytest

from accounts.services.tags import user_tags_diff, user_tags_write
from accounts.signals import tags_applied
from tests.support.factories import TagFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tags():
    return [TagFactory(id=tag_id, name=f"T{tag_id}") for tag_id in (1, 2, 3)]


def tag_ids(user):
    return set(user.tags.values_list("id", flat=True))


def test_changes_of_several_users_are_written_together(tags):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    ann.tags.set([1, 2])
    changes = [
        user_tags_diff(user=ann, tag_ids=frozenset({2, 3})),
        user_tags_diff(user=bob, tag_ids=frozenset({1}), current=frozenset()),
    ]
    user_tags_write(changes=changes)
    assert (tag_ids(ann), tag_ids(bob)) == ({2, 3}, {1})


def test_successive_changes_of_one_user_end_with_the_last_set(tags):
    ann = UserFactory(username="ann")
    ann.tags.set([1])
    first = user_tags_diff(user=ann, tag_ids=frozenset({2}), current=frozenset({1}))  # drops 1, adds 2
    second = user_tags_diff(user=ann, tag_ids=frozenset({1}), current=frozenset({2}))  # adds 1, drops 2
    applied = []
    tags_applied.connect(
        lambda sender, user, tag_ids, **kw: applied.append(tag_ids), weak=False, dispatch_uid="t"
    )
    try:
        user_tags_write(changes=[first, second])
    finally:
        tags_applied.disconnect(dispatch_uid="t")
    assert tag_ids(ann) == {1}
    assert applied == [frozenset({2}), frozenset({1})]  # one signal per change, in order
