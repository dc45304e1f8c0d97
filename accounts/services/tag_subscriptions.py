"""Tag subscriptions: Ontraport POSTs an event to the site whenever a subscribed tag is added to or removed
from a contact (`POST /Webhook/subscribe`, events sub_tag / unsub_tag), so no Ontraport rule is needed.

The events arrive at the site's events URL (webhooks.subscription_events) and are treated as a hint: an
update_tags delivery for the contact, which fetches the contact as it is now.
"""

import contextlib
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import Tag, TagSubscription
from ontraport_client import NotFoundError, OntraportClient

EVENTS = (TagSubscription.Event.ADDED, TagSubscription.Event.REMOVED)


def tag_subscriptions_create(*, tags: Iterable[Tag], url: str, client: OntraportClient) -> int:
    """Subscribe `url` to both events of each tag that is not subscribed yet; returns how many subscriptions
    were made. Each one is stored as soon as Ontraport made it, so an error half-way loses nothing.

    A subscription Ontraport already has for this URL and event (made before the site lost its row, say)
    is taken over rather than made again: two would send every event twice. Finding it costs one read of
    Ontraport's list (every page), only when something is to be subscribed."""
    tags = list(tags)
    existing = set(TagSubscription.objects.filter(tag__in=tags).values_list("tag_id", "event").order_by())
    wanted = [(tag, event) for tag in tags for event in EVENTS if (tag.pk, event.value) not in existing]
    if not wanted:
        return 0
    remote = {(s.url, s.event, s.tag_id): s.id for s in client.webhook_subscriptions()}
    made = 0
    for tag, event in wanted:
        ontraport_id = remote.get((url, event.value, tag.pk))
        if ontraport_id is None:
            ontraport_id = client.webhook_subscribe(url=url, event=event.value, tag_id=tag.pk).id
            made += 1
        TagSubscription.objects.create(tag=tag, event=event, ontraport_id=ontraport_id)
    return made


@transaction.atomic
def tag_subscriptions_refresh(*, client: OntraportClient) -> int:
    """Read Ontraport's list: each subscription's last response code; rows Ontraport no longer has are
    dropped (someone removed them in Ontraport). Returns how many subscriptions Ontraport has for the site."""
    remote = {subscription.id: subscription for subscription in client.webhook_subscriptions()}
    now = timezone.now()
    kept = 0
    stored = list(TagSubscription.objects.select_for_update())
    gone = [row.pk for row in stored if row.ontraport_id not in remote]
    TagSubscription.objects.filter(pk__in=gone).delete()
    changed = []
    for row in stored:
        if row.ontraport_id in remote:
            row.last_code, row.checked_at = remote[row.ontraport_id].last_code, now
            changed.append(row)
            kept += 1
    TagSubscription.objects.bulk_update(changed, ["last_code", "checked_at"])
    return kept


def tag_subscriptions_delete(*, subscriptions: Iterable[TagSubscription], client: OntraportClient) -> int:
    """Unsubscribe in Ontraport, then forget; one already gone from Ontraport is simply forgotten."""
    removed = 0
    for subscription in subscriptions:
        with contextlib.suppress(NotFoundError):
            client.webhook_unsubscribe(subscription.ontraport_id)
        subscription.delete()
        removed += 1
    return removed
