"""A batch the database aborts to break a deadlock with another worker's batch is applied again, whole."""

import pytest
from django.db import OperationalError

from accounts.models import User
from accounts.services import contacts_apply
from accounts.services.batch import UsersLoaded
from accounts.services.contacts_apply import ContactRequest, SyncAction, users_sync_from_contacts
from tests.support.directory import FakeDirectory
from tests.support.factories import contact

# The service owns the transaction only outside one: these tests run outside the test's own.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class DatabaseSaid(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def aborted_once(monkeypatch, sqlstate: str) -> list[str]:
    """The batch's first read of users fails as PostgreSQL fails a deadlock's victim; later reads work."""
    failures: list[str] = []
    read = UsersLoaded.read

    def read_or_fail(**kwargs):
        if not failures:
            failures.append(sqlstate)
            raise OperationalError("deadlock detected") from DatabaseSaid(sqlstate)
        return read(**kwargs)

    monkeypatch.setattr(UsersLoaded, "read", staticmethod(read_or_fail))
    return failures


def apply_one() -> dict:
    directory = FakeDirectory(contact(41, "dana@example.com", firstname="Dana"))
    return users_sync_from_contacts(
        requests={41: ContactRequest(action=SyncAction.ADD)},
        contacts=directory.fetch(41),
        directory=directory,
    )


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])  # deadlock_detected, serialization_failure
def test_a_batch_aborted_by_a_lock_conflict_is_applied_again(monkeypatch, sqlstate):
    failures = aborted_once(monkeypatch, sqlstate)

    outcomes = apply_one()

    assert failures == [sqlstate]
    assert outcomes[41].kind == "done"
    assert User.objects.get(contact_id=41).first_name == "Dana"


def test_other_database_errors_are_not_retried_here(monkeypatch):
    aborted_once(monkeypatch, "08006")  # connection failure: the worker's durable retry handles it
    with pytest.raises(OperationalError):
        apply_one()
    assert not User.objects.filter(contact_id=41).exists()


def test_a_batch_that_keeps_losing_gives_up_after_the_last_try(monkeypatch):
    tries = []

    def always_fail(**kwargs):
        tries.append(1)
        raise OperationalError("deadlock detected") from DatabaseSaid("40P01")

    monkeypatch.setattr(UsersLoaded, "read", staticmethod(always_fail))
    with pytest.raises(OperationalError):
        apply_one()
    assert len(tries) == contacts_apply._DEADLOCK_RETRIES
