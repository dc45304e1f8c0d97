"""Runs from start to finish, for the commands (in the foreground) and the worker (in slices)."""

from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction

from accounts.history import history_record
from accounts.models import User
from ontraport_client import OntraportClient, OntraportError
from webhooks.adoption.leases import run_claim, run_release
from webhooks.adoption.models import Run
from webhooks.adoption.pages import (
    BulkDirectory,
    LeaseLost,
    Page,
    RunShort,
    page_apply,
    page_fetch,
    resync_users,
)
from webhooks.telemetry.process_id import process_id_new


def run_start(
    *,
    kind: str,
    arguments: Mapping[str, Any],
    started_from: str,
    started_by: User | None = None,
) -> Run:
    """A new run, recording who started it (the row, and the run's admin history)."""
    run = Run.objects.create(
        kind=kind, arguments=dict(arguments), started_from=started_from, started_by=started_by
    )
    history_record(
        actor=started_by, objects=[run], message=f"Started from the {started_from or 'code'}", added=True
    )
    return run


def run_find_open(*, kind: str, arguments: Mapping[str, Any]) -> Run | None:
    """The unfinished run a command started with the same arguments: running it again continues it."""
    return (
        Run.objects.open()
        .filter(kind=kind, started_from="command", arguments=dict(arguments))
        .order_by("-id")
        .first()
    )


def run_count_total(*, run: Run, client: OntraportClient, save: bool = True) -> int | None:
    """How many contacts the run covers (one Ontraport count for an import); None when unknown."""
    if run.kind == Run.Kind.IMPORT:
        before = client.calls_made
        try:
            total: int | None = client.count_contacts_with_tag(int(run.arguments["tag_id"]))
        except OntraportError:
            total = None  # the progress bar goes without a total
        run.calls += client.calls_made - before
    else:
        total = resync_users(run.arguments).count()
    if total is not None and run.arguments.get("limit"):
        total = min(total, int(run.arguments["limit"]))
    run.total = total
    if save and run.pk:
        Run.objects.filter(pk=run.pk).update(total=total, calls=run.calls)
    return total


def run_work(
    *,
    run: Run,
    client: OntraportClient,
    owner: str,
    dry_run: bool = False,
    on_page: Callable[[Run, Page], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> bool:
    """Work through pages until the run is finished (True) or `stop()` says so (False).

    Raises OntraportError (the page is not recorded; the run continues from its cursor next time),
    LeaseLost, and RunShort (the run cannot be finished with every contact: it fails saying why)."""
    directory = BulkDirectory(client)
    while True:
        if stop is not None and stop():
            return False
        page = page_fetch(run=run, client=client)
        page_apply(run=run, page=page, directory=directory, owner=owner, dry_run=dry_run)
        if on_page is not None:
            on_page(run, page)
        if page.last:
            run_check_complete(run=run, client=client, save=not dry_run)
            return True


def run_check_complete(*, run: Run, client: OntraportClient, save: bool = True) -> None:
    """An import whose pages ended with fewer contacts than Ontraport counted is not done: counted again
    (contacts may have lost the tag meanwhile), it is done if the new count is met, else RunShort."""
    if run.kind != Run.Kind.IMPORT or run.total is None or run.processed >= run.total:
        return
    counted = run.total
    recount = run_count_total(run=run, client=client, save=save)
    if recount is None or run.processed < recount:
        tag = run.arguments.get("tag_name") or run.arguments.get("tag_id")
        raise RunShort(
            f"Ontraport counts {recount if recount is not None else counted:,} contact(s) with tag {tag} but "
            f"its pages brought {run.processed:,}: the run is not done (a new run imports what is missing "
            "and leaves the users already imported unchanged; if it stays short, Ontraport's paging of "
            "this tag is unreliable)"
        )


def sweep_create(*, due_at: Any) -> Run | None:
    """The next sweep, unless one is open already (the constraint makes two schedulers create one)."""
    try:
        with transaction.atomic():
            return Run.objects.create(
                kind=Run.Kind.SWEEP, arguments={"all": True}, started_from="schedule", due_at=due_at
            )
    except IntegrityError:
        return None


def run_preview(*, kind: str, arguments: Mapping[str, Any], client: OntraportClient) -> Run:
    """A dry run of the run's first page (at most 50 contacts, fewer with a limit): what it would create,
    link, update or skip, with nothing written. The Run returned is not saved; its counts are the page's and
    `total` is Ontraport's count for the whole run. For the admin's confirmation page, which must answer
    within a request: a whole dry run is the command's (`--dry-run`)."""
    run = Run(kind=kind, arguments={**arguments, "dry_run": True}, started_from="admin")
    run_count_total(run=run, client=client, save=False)
    page = page_fetch(run=run, client=client)
    page_apply(run=run, page=page, directory=BulkDirectory(client), owner="", dry_run=True)
    return run


def run_now(*, run: Run, client: OntraportClient) -> Run:
    """Work a small run through in this process at once (a user page's Resync button), recorded like any
    run: its counts, its lines in the deliveries log. Raises OntraportError (the run is left interrupted
    with the reason) and LeaseLost."""
    owner = process_id_new()
    claimed = run_claim(run_id=run.pk, owner=owner)
    if claimed is None:
        raise LeaseLost(f"run #{run.pk} is being worked on by another process")
    try:
        run_count_total(run=claimed, client=client)
        run_work(run=claimed, client=client, owner=owner)
    except OntraportError as error:
        message = f"Ontraport error: {error}"
        run_release(run=claimed, owner=owner, state=Run.State.INTERRUPTED, message=message)
        raise
    run_release(run=claimed, owner=owner, state=Run.State.DONE)
    claimed.refresh_from_db()
    return claimed
