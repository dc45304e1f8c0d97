"""One page of a run: up to 50 contacts fetched in one Ontraport call, applied by the accounts service,
and recorded (the run's counts and cursor, the deliveries log) in one transaction.

Because the cursor moves in the same transaction as the users it covers, a run killed at any point
continues exactly after the last page that committed: nothing is applied twice, nothing is skipped.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services.contacts_apply import (
    ContactRequest,
    Effect,
    SyncAction,
    SyncOutcome,
    users_sync_from_contacts,
)
from ontraport_client import PAGE_SIZE, ConditionIgnoredError, Contact, OntraportClient, Tag
from webhooks.adoption.budget import bulk_wait_seconds
from webhooks.adoption.leases import lease_duration
from webhooks.adoption.models import Run
from webhooks.services.recording import RunContactLogged, deliveries_log_run

logger = logging.getLogger(__name__)

# Which count an applied contact adds to.
_EFFECT_COUNT = {
    Effect.CREATED: "created",
    Effect.LINKED: "linked",
    Effect.RELINKED: "linked",
    Effect.UPDATED: "updated",
    Effect.UNCHANGED: "unchanged",
}


class LeaseLost(Exception):
    """Another process took the run over (this one's lease had run out): stop without writing."""


class RunShort(Exception):
    """The run cannot bring every contact it covers (Ontraport's paging misbehaves, or its pages ended
    before its own count): the run fails saying why instead of ending "done" with contacts missing."""


@dataclass
class Page:
    requests: dict[int, ContactRequest]
    contacts: dict[int, Contact]
    cursor: int  # the run's cursor once this page is recorded
    last: bool  # nothing comes after this page
    paging_offset: int | None = None  # the run's next offset once recorded, when it pages by offset
    calls: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def resync_users(arguments: Mapping[str, Any]) -> "QuerySet[User]":
    """The linked users a resync or sweep covers."""
    users = User.objects.filter(contact_id__isnull=False)
    if arguments.get("tag_id"):
        users = users.filter(tags__id=int(arguments["tag_id"]))
    elif arguments.get("user_ids"):
        users = users.filter(pk__in=[int(user_id) for user_id in arguments["user_ids"]])
    return users


def page_fetch(*, run: Run, client: OntraportClient) -> Page:
    """The run's next page (no write). Raises OntraportError."""
    calls_before = client.calls_made
    limit = run.arguments.get("limit")
    # How many more contacts --limit allows (a page never takes more than 50).
    room = max(int(limit) - run.processed, 0) if limit else None
    if run.kind == Run.Kind.IMPORT:
        found, answered = _import_page(run=run, client=client)
        last = answered < PAGE_SIZE or (room is not None and len(found) >= room)
        found = found[:room]
        request = ContactRequest(
            action=SyncAction.ADD,
            role=str(run.arguments.get("role") or ""),
            send_notification=bool(run.arguments.get("notify")),
        )
        page = Page(
            requests={contact.id: request for contact in found},
            contacts={contact.id: contact for contact in found},
            cursor=found[-1].id if found else run.cursor,
            last=last,
            paging_offset=None if run.paging_offset is None else run.paging_offset + answered,
        )
    else:
        rows = list(
            resync_users(run.arguments)
            .filter(pk__gt=run.cursor)
            .order_by("pk")
            .values_list("pk", "contact_id")[: min(PAGE_SIZE, room if room is not None else PAGE_SIZE)]
        )
        contact_ids = [int(contact_id) for _, contact_id in rows if contact_id is not None]
        contacts = client.get_contacts(contact_ids) if contact_ids else {}
        page = Page(
            requests=dict.fromkeys(contact_ids, ContactRequest(action=SyncAction.UPDATE)),
            contacts=contacts,
            cursor=rows[-1][0] if rows else run.cursor,
            last=len(rows) < PAGE_SIZE or (room is not None and len(rows) >= room),
        )
    page.calls = client.calls_made - calls_before
    return page


def _import_page(*, run: Run, client: OntraportClient) -> tuple[list[Contact], int]:
    """The import's next contacts (ids above the cursor, in id order) and how many rows Ontraport answered.

    Pages ask for "ids above the cursor". An account that ignores that condition answers contacts already
    done (ConditionIgnoredError): from then on the run pages by offset, the offset starting at the number
    of contacts done (the ids up to the cursor, asked in id order), kept on the run so a resumed run pages
    the same way. A full offset page that brings nothing above the cursor means offsets are ignored too (or
    the order is not by id): nothing more can be read safely, and the run fails saying so. (A short page of
    repeats is the end: a contact tagged meanwhile below the cursor shifted the list by one; the final
    count check then says whether anyone is missing.)"""
    tag_id = int(run.arguments["tag_id"])
    if run.paging_offset is None:
        try:
            found = client.contacts_with_tag_page(tag_id, after_id=run.cursor)
            return found, len(found)
        except ConditionIgnoredError:
            logger.warning("run #%s: Ontraport ignores the id condition; paging by offset", run.pk)
            run.paging_offset = run.processed
    rows = client.contacts_with_tag_from(tag_id, start=run.paging_offset)
    found = sorted((contact for contact in rows if contact.id > run.cursor), key=lambda c: c.id)
    if len(rows) >= PAGE_SIZE and not found:
        raise RunShort(
            f"Ontraport's pages of tag {tag_id} repeat contacts already imported: the account ignores both "
            f"the id condition and the offset (start={run.paging_offset}), or does not sort by id; "
            f"{run.processed:,} contact(s) were imported, the rest cannot be read safely"
        )
    return found, len(rows)


class BulkDirectory:
    """The bulk client as the accounts service's directory (merged and deleted contacts, tag names), one
    per run (or slice of a run).

    Tag names are cosmetic: the tag list is fetched at most once per run (a long import would otherwise
    refresh it every FUSION_TAG_REFRESH_SECONDS), and not at all while the budget is down to the reserve
    (the webhooks' calls). Tags are applied by id either way and named by a later refresh.
    """

    def __init__(self, client: OntraportClient) -> None:
        self.client = client
        self.tags_listed = False

    def get_contacts(self, ids: Iterable[int]) -> dict[int, Contact]:
        return self.client.get_contacts(ids)

    def find_contact_ids_by_email(self, email: str) -> list[int]:
        return self.client.find_contact_ids_by_email(email)

    def list_tags(self) -> list[Tag]:
        if self.tags_listed or bulk_wait_seconds(self.client) > 0:
            return []
        self.tags_listed = True
        return self.client.list_tags()


def page_apply(*, run: Run, page: Page, directory: BulkDirectory, owner: str, dry_run: bool = False) -> Page:
    """Apply the page and record it. A dry run computes the outcomes and writes nothing at all."""
    client = directory.client
    calls_before = client.calls_made
    if dry_run:
        outcomes = users_sync_from_contacts(
            requests=page.requests, contacts=page.contacts, directory=directory, dry_run=True
        )
        page.calls += client.calls_made - calls_before
        page.counts = _counts(outcomes)
        _advance(run, page)
        return page
    with transaction.atomic():
        # The lease is checked in the transaction that moves the cursor: a process that lost the run
        # (its lease ran out and another took it over) cannot record a page the new holder also records.
        if not Run.objects.select_for_update().filter(pk=run.pk, lease_owner=owner).exists():
            raise LeaseLost(f"run #{run.pk} was taken over by another process")
        outcomes = users_sync_from_contacts(
            requests=page.requests, contacts=page.contacts, directory=directory
        )
        page.calls += client.calls_made - calls_before
        page.counts = _counts(outcomes)
        _log(run, page, outcomes)
        now = timezone.now()
        Run.objects.filter(pk=run.pk).update(
            cursor=page.cursor,
            paging_offset=page.paging_offset,
            processed=F("processed") + len(page.requests),
            calls=F("calls") + page.calls,
            lease_expires_at=now + lease_duration(),
            updated_at=now,
            **{name: F(name) + page.counts.get(name, 0) for name in Run.COUNTS},
        )
    _advance(run, page)
    return page


def _advance(run: Run, page: Page) -> None:
    run.cursor = page.cursor
    run.paging_offset = page.paging_offset
    run.processed += len(page.requests)
    run.calls += page.calls
    for name in Run.COUNTS:
        setattr(run, name, getattr(run, name) + page.counts.get(name, 0))


def _counts(outcomes: Mapping[int, SyncOutcome]) -> dict[str, int]:
    counts = dict.fromkeys(Run.COUNTS, 0)
    for outcome in outcomes.values():
        name = _EFFECT_COUNT.get(outcome.effect) if outcome.kind == "done" else None
        counts[name or "skipped"] += 1
    return counts


def _log(run: Run, page: Page, outcomes: Mapping[int, SyncOutcome]) -> None:
    """What the page changed or failed on, in the deliveries log; unchanged users are left out."""
    role = str(run.arguments.get("role") or "")
    deliveries_log_run(
        run_id=run.pk,
        source=run.kind,
        action=SyncAction.ADD if run.kind == Run.Kind.IMPORT else SyncAction.UPDATE,
        contacts=[
            RunContactLogged(
                contact_id=contact_id,
                user_id=outcome.user_id,
                failed=outcome.kind != "done" or outcome.effect == Effect.NONE,
                reason=str(outcome.reason),
                message=outcome.message or str(outcome.effect),
                role=role,
            )
            for contact_id, outcome in outcomes.items()
            if not (outcome.kind == "done" and outcome.effect == Effect.UNCHANGED)
        ],
    )
