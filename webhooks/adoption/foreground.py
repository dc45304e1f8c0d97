"""Running an import or resync from a command: a progress bar, Ctrl-C, resuming, a summary."""

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError, OutputWrapper
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from accounts.models import Tag
from accounts.ontraport import ontraport_bulk_client
from accounts.services.tags import tags_sync_from_ontraport
from ontraport_client import OntraportClient, OntraportError
from ontraport_client.pacing import Pacer
from webhooks.adoption.leases import run_claim, run_release
from webhooks.adoption.models import Run
from webhooks.adoption.pages import LeaseLost, Page, RunShort
from webhooks.adoption.runs import run_count_total, run_find_open, run_start, run_work
from webhooks.telemetry.process_id import process_id_new


def tag_resolve(*, name_or_id: str, client: OntraportClient, dry_run: bool = False) -> tuple[int, str]:
    """A tag id and name from what the user typed: an id, or a name (case-insensitive) as Ontraport has it.

    A name the site does not know yet is looked up in Ontraport's tag list, which is stored (Tag rows) —
    except in a dry run, which writes nothing at all: the list is then only read."""
    text = name_or_id.strip()
    if text.isdigit():
        tag = Tag.objects.filter(pk=int(text)).first()
        return int(text), tag.name if tag else ""
    wanted = text.casefold()
    known: list[tuple[int, str]] = list(Tag.objects.values_list("pk", "name"))
    matches = [(pk, name) for pk, name in known if name.casefold() == wanted]
    if not matches:
        try:
            if dry_run:
                known = [(tag.id, tag.name) for tag in client.list_tags()]
            else:
                tags_sync_from_ontraport(client=client)  # the site may not know the tag yet
                known = list(Tag.objects.values_list("pk", "name"))
        except OntraportError as error:
            raise CommandError(f"Could not read Ontraport's tag list: {error}") from None
        matches = [(pk, name) for pk, name in known if name.casefold() == wanted]
    if not matches:
        raise CommandError(f"Ontraport has no tag named {text!r} (give its name as shown, or its id).")
    if len(matches) > 1:
        ids = ", ".join(str(pk) for pk, _ in matches)
        raise CommandError(f"Several tags are named {text!r} (ids {ids}): give the id.")
    return matches[0]


def run_in_foreground(
    *, kind: str, arguments: Mapping[str, Any], dry_run: bool, as_json: bool, stdout: OutputWrapper
) -> Run:
    """Start (or continue) the run and work through it here, with a progress bar on stderr."""
    client = ontraport_bulk_client()
    owner = process_id_new()
    if dry_run:
        run = Run(kind=kind, arguments={**arguments, "dry_run": True}, started_from="command")
        resumed = False
    else:
        found = run_find_open(kind=kind, arguments=arguments)
        resumed = found is not None
        run = found or run_start(kind=kind, arguments=arguments, started_from="command")
        claimed = run_claim(run_id=run.pk, owner=owner)
        if claimed is None:
            raise CommandError(
                f"{run} is being worked on by {run.lease_owner or 'another process'} "
                f"until {run.lease_expires_at:%H:%M:%S} UTC at the latest; it continues there."
            )
        run = claimed
    run_count_total(run=run, client=client, save=not dry_run)
    console = Console(stderr=True)
    if resumed and not as_json:
        console.print(f"Continuing {run} after id {run.cursor} ({run.processed:,} done before).")
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    with Progress(*columns, console=console, transient=False, disable=as_json) as progress:
        bar = progress.add_task(
            f"{'dry run: ' if dry_run else ''}{run.get_kind_display().lower()}",
            total=run.total,
            completed=run.processed,
            counts=_counts_text(run),
        )

        def on_page(run: Run, page: Page) -> None:
            progress.update(bar, completed=run.processed, counts=_counts_text(run))

        def on_wait(seconds: float) -> None:
            # Said while it lasts, so a bar standing still is not mistaken for a hang: on the bar in a
            # terminal, as a line where there is no live bar (a log, a pipe).
            if as_json:
                return
            if console.is_terminal:
                progress.update(bar, counts=f"{_counts_text(run)} — {waiting_text(seconds)}", refresh=True)
            else:
                console.print(f"{run.processed:,} done; {waiting_text(seconds)}")

        try:
            with waits_shown(client.pacer, on_wait):
                run_work(run=run, client=client, owner=owner, dry_run=dry_run, on_page=on_page)
        except KeyboardInterrupt:
            if not dry_run:
                run_release(
                    run=run,
                    owner=owner,
                    state=Run.State.INTERRUPTED,
                    message="interrupted: run the same command again to continue",
                )
            progress.stop()
            raise CommandError(f"Interrupted. {_resume_hint(run, dry_run)}") from None
        except OntraportError as error:
            if not dry_run:
                run_release(
                    run=run, owner=owner, state=Run.State.INTERRUPTED, message=f"Ontraport error: {error}"
                )
            raise CommandError(f"Ontraport error: {error}. {_resume_hint(run, dry_run)}") from None
        except LeaseLost as lost:
            raise CommandError(str(lost)) from None
        except RunShort as short:
            if not dry_run:
                run_release(run=run, owner=owner, state=Run.State.FAILED, message=str(short))
            raise CommandError(f"Failed: {short}.") from None
    if not dry_run:
        run_release(run=run, owner=owner, state=Run.State.DONE, message=_counts_text(run))
    _summary(run, dry_run=dry_run, as_json=as_json, stdout=stdout)
    return run


def waiting_text(seconds: float) -> str:
    return f"waiting {seconds:.0f} s for Ontraport's rate limit (calls are kept for webhooks)"


@contextmanager
def waits_shown(pacer: Pacer, show: Callable[[float], None]) -> Iterator[None]:
    """Tell `show` of every wait of the client's pacer (the rate limit's, a 429's) before it starts. The
    pacer's own sleep is wrapped for the run's length and put back after."""
    original = pacer._sleep  # every wait of the client goes through it (Pacer.sleep)

    def sleep(seconds: float) -> None:
        if seconds >= 1:
            show(seconds)
        original(seconds)

    pacer._sleep = sleep
    try:
        yield
    finally:
        pacer._sleep = original


def _resume_hint(run: Run, dry_run: bool) -> str:
    if dry_run:
        return "A dry run writes nothing: nothing to continue."
    return f"{run.processed:,} done; run the same command again to continue run #{run.pk}."


def _counts_text(run: Run) -> str:
    return " ".join(f"{name} {value:,}" for name, value in run.counts().items())


def _summary(run: Run, *, dry_run: bool, as_json: bool, stdout: OutputWrapper) -> None:
    summary = {
        "run": run.pk,
        "kind": run.kind,
        "dry_run": dry_run,
        "state": "done" if not dry_run else "dry run",
        "processed": run.processed,
        "total": run.total,
        **run.counts(),
        "ontraport_calls": run.calls,
    }
    if as_json:
        stdout.write(json.dumps(summary))
        return
    verb = "would be" if dry_run else "were"
    head = f"Run #{run.pk}: " if run.pk else "Dry run (nothing written): "
    stdout.write(
        f"{head}{run.processed:,} contact(s); {verb} "
        + ", ".join(f"{name} {value:,}" for name, value in run.counts().items())
        + f"; {run.calls} Ontraport call(s)."
    )
