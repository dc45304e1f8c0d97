"""Tags: the Tag table kept in step with Ontraport's tag list, and a user's tags replaced as a set."""

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Tag, User
from accounts.signals import tags_applied, tags_removed
from ontraport_client import OntraportClient

logger = logging.getLogger(__name__)


@transaction.atomic
def tags_sync_from_ontraport(*, client: OntraportClient) -> int:
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


def tags_ensure_known(*, tag_ids: Iterable[int], client: OntraportClient) -> bool:
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


def user_tags_replace(
    *, user: User, tag_ids: frozenset[int], current: frozenset[int] | None = None
) -> tuple[frozenset[int], frozenset[int]]:
    """Set the user's tags to exactly `tag_ids` (rows must exist). Returns (applied, removed).

    `current`: the user's tag ids when the caller already read them (a batch prefetch, a new user)."""
    through = User.tags.through
    if current is None:
        current = frozenset(through.objects.filter(user_id=user.pk).values_list("tag_id", flat=True))
    applied, removed = tag_ids - current, current - tag_ids
    if removed:
        through.objects.filter(user_id=user.pk, tag_id__in=removed).delete()
    if applied:
        through.objects.bulk_create(
            [through(user_id=user.pk, tag_id=tag_id) for tag_id in applied], ignore_conflicts=True
        )
    if applied:
        tags_applied.send(sender=User, user=user, tag_ids=applied)
    if removed:
        tags_removed.send(sender=User, user=user, tag_ids=removed)
    return applied, removed
