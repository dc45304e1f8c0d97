"""Merging the deliveries claimed for one contact into one application of the contact's current state.

Each webhook is only a trigger: processing fetches the contact as it is now, so applying it once serves
every delivery in the group, and nothing is dropped (WP Fusion discards repeats within 60 s).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from accounts.services.contacts_apply import SyncAction
from webhooks.models import Delivery


@dataclass(frozen=True)
class MergedRequest:
    action: SyncAction
    role: str
    send_notification: bool


def merge_deliveries(deliveries: Sequence[Delivery]) -> MergedRequest:
    """`add` wins over `update`, which wins over `update_tags`; the role and notification asked for by any
    `add` are kept (the latest such role wins), and a role asked for by an `update` is used when no
    `add` names one."""
    action = max((SyncAction(d.action) for d in deliveries), key=lambda a: a.strength)
    ordered = sorted(deliveries, key=lambda d: d.pk or 0)
    add_roles = [d.role for d in ordered if d.action == Delivery.Action.ADD and d.role]
    update_roles = [d.role for d in ordered if d.action == Delivery.Action.UPDATE and d.role]
    roles = add_roles or update_roles
    return MergedRequest(
        action=action,
        role=roles[-1] if roles else "",
        send_notification=any(d.send_notification for d in ordered if d.action == Delivery.Action.ADD),
    )
