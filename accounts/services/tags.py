"""Tags: the Tag table kept in step with Ontraport's tag list, and a user's tags replaced as a set."""

import datetime
import logging
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Tag, User
from accounts.services.directory import ContactDirectory
from accounts.signals import tags_applied, tags_removed
from accounts.tag_guards import user_tags_forget

logger = logging.getLogger(__name__)


@transaction.atomic
def tags_sync_from_ontraport(*, client: ContactDirectory) -> int:
    """Fetch Ontraport's whole tag list and upsert names. Returns how many tags Ontraport has."""
    now = timezone.now()
    remote = client.list_tags()
    Tag.objects.bulk_create(
        [Tag(id=tag.id, name=tag.name, name_checked_at=now) for tag in remote],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["name", "name_checked_at"],
    )
    return len(remote)


def tags_ensure_known(*, tag_ids: Iterable[int], client: ContactDirectory) -> bool:
    """Make sure every id has a Tag row; refresh names from Ontraport only when one is unknown.

    An id never named (or not found in the list) is looked up again at most once per
    FUSION_TAG_REFRESH_SECONDS, so a burst of webhooks carrying a new tag costs one tag-list fetch, not one
    per webhook. Returns whether the tag list was fetched.
    """
    wanted = set(tag_ids)
    if not wanted:
        return False
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.FUSION_TAG_REFRESH_SECONDS)
    checked = dict(Tag.objects.filter(id__in=wanted).values_list("id", "name_checked_at"))
    missing = wanted - checked.keys()
    if missing:
        Tag.objects.bulk_create([Tag(id=tag_id) for tag_id in missing], ignore_conflicts=True)
    if not missing and all(at is not None and at >= cutoff for at in checked.values()):
        return False
    # Claim the refresh before calling Ontraport, so concurrent workers do not all fetch the same list.
    due = Q(name_checked_at__isnull=True) | Q(name_checked_at__lt=cutoff)
    if not Tag.objects.filter(id__in=wanted).filter(due).update(name_checked_at=timezone.now()):
        return False
    tags_sync_from_ontraport(client=client)
    return True


@dataclass(frozen=True)
class TagChange:
    """How one sync changes a user's tags."""

    user: User
    applied: frozenset[int]
    removed: frozenset[int]


def user_tags_diff(
    *, user: User, tag_ids: frozenset[int], current: frozenset[int] | None = None
) -> TagChange:
    """What setting the user's tags to exactly `tag_ids` changes. Reads the user's tags unless the caller
    already knows them (`current`: a batch prefetch, a new user)."""
    if current is None:
        through = User.tags.through
        current = frozenset(through.objects.filter(user_id=user.pk).values_list("tag_id", flat=True))
    return TagChange(user=user, applied=tag_ids - current, removed=current - tag_ids)


def user_tags_write(*, changes: Sequence[TagChange]) -> None:
    """Write the changes (tag rows must exist), then signal each one, in order.

    All removals go in one DELETE and all additions in one INSERT, however many users: a worker writes the
    tag changes of 50 contacts at once. Successive changes of one user are merged into one net change, in
    which no tag is both added and removed, so the DELETE-then-INSERT order gives the last change's set."""
    added: dict[int, set[int]] = defaultdict(set)
    dropped: dict[int, set[int]] = defaultdict(set)
    for change in changes:
        user_id = change.user.pk
        added[user_id] = (added[user_id] - change.removed) | change.applied
        dropped[user_id] = (dropped[user_id] - change.applied) | change.removed
    through = User.tags.through
    removals = [Q(user_id=user_id, tag_id__in=tag_ids) for user_id, tag_ids in dropped.items() if tag_ids]
    if removals:
        through.objects.filter(reduce(operator.or_, removals)).delete()
    rows = [
        through(user_id=user_id, tag_id=tag_id) for user_id, tag_ids in added.items() for tag_id in tag_ids
    ]
    if rows:
        through.objects.bulk_create(rows, ignore_conflicts=True)
    for change in changes:
        # A tag guard's reading of this user object (accounts.tag_guards) is out of date now: code that
        # changes a request's user's tags and checks them again in that request sees the change.
        user_tags_forget(user=change.user)
        if change.applied:
            tags_applied.send(sender=User, user=change.user, tag_ids=change.applied)
        if change.removed:
            tags_removed.send(sender=User, user=change.user, tag_ids=change.removed)


def user_tags_replace(
    *, user: User, tag_ids: frozenset[int], current: frozenset[int] | None = None
) -> tuple[frozenset[int], frozenset[int]]:
    """Set the user's tags to exactly `tag_ids` (rows must exist). Returns (applied, removed).

    `current`: the user's tag ids when the caller already read them (a batch prefetch, a new user)."""
    change = user_tags_diff(user=user, tag_ids=tag_ids, current=current)
    user_tags_write(changes=[change])
    return change.applied, change.removed
