"""Tag subscriptions: Ontraport POSTs an event to the site whenever a subscribed tag is added to or removed
from a contact (`POST /Webhook/subscribe`, events sub_tag / unsub_tag), so no Ontraport rule is needed.

The events arrive at the site's events URL (webhooks.subscription_events) and are treated as a hint: an
update_tags delivery for the contact, which fetches the contact as it is now.
"""

import contextlib
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.history import history_record
from accounts.models import Tag, TagSubscription, User
from ontraport_client import NotFoundError, OntraportClient

EVENTS = (TagSubscription.Event.ADDED, TagSubscription.Event.REMOVED)


def tag_subscriptions_create(
    *, tags: Iterable[Tag], url: str, client: OntraportClient, by: User | None = None
) -> int:
    """Subscribe `url` to both events of each tag that is not subscribed yet; returns how many subscriptions
    were made. Each one is stored as soon as Ontraport made it, so an error half-way loses nothing; each
    records who made it (`created_by`, and the tag's admin history)."""
    tags = list(tags)
    tag_subscriptions_take_over(tags=tags, url=url, client=client)
    existing = set(TagSubscription.objects.filter(tag__in=tags).values_list("tag_id", "event").order_by())
    made = 0
    for tag in tags:
        for event in EVENTS:
            if (tag.pk, event.value) in existing:
                continue
            subscription = client.webhook_subscribe(url=url, event=event.value, tag_id=tag.pk)
            TagSubscription.objects.create(tag=tag, event=event, ontraport_id=subscription.id, created_by=by)
            history_record(
                actor=by,
                objects=[tag],
                message=f"Subscribed in Ontraport: {event.label} (events to the site)",
            )
            made += 1
    return made


def tag_subscriptions_take_over(*, tags: Iterable[Tag], url: str, client: OntraportClient) -> int:
    """Store the subscriptions Ontraport already has for `url` and these tags' events (made before the site
    lost its rows, say), so that subscribing takes them over instead of making second ones: two would send
    every event twice. One read of Ontraport's list (every page), only when a row is missing; returns how
    many were taken over."""
    tags = list(tags)
    existing = set(TagSubscription.objects.filter(tag__in=tags).values_list("tag_id", "event").order_by())
    missing = {(tag.pk, event.value) for tag in tags for event in EVENTS} - existing
    if not missing:
        return 0
    by_tag = {tag.pk: tag for tag in tags}
    taken = 0
    for subscription in client.webhook_subscriptions():
        key = (subscription.tag_id, subscription.event)
        if subscription.url == url and key in missing and subscription.tag_id is not None:
            event = TagSubscription.Event(subscription.event)
            TagSubscription.objects.create(
                tag=by_tag[subscription.tag_id], event=event, ontraport_id=subscription.id
            )
            missing.discard(key)
            taken += 1
    return taken


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


def tag_subscriptions_delete(
    *, subscriptions: Iterable[TagSubscription], client: OntraportClient, by: User | None = None
) -> int:
    """Unsubscribe in Ontraport, then forget; one already gone from Ontraport is simply forgotten."""
    removed = 0
    for subscription in subscriptions:
        tag = subscription.tag
        with contextlib.suppress(NotFoundError):
            client.webhook_unsubscribe(subscription.ontraport_id)
        subscription.delete()
        history_record(actor=by, objects=[tag], message=f"Unsubscribed in Ontraport: {subscription.event}")
        removed += 1
    return removed
