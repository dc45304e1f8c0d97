"""Runs: bulk applications of contacts (import, resync, sweep), resumable and worked on by one process at
a time. The deliveries log names the run that wrote each of its rows (webhooks.Delivery.run)."""

from django.conf import settings
from django.db import models


class RunQuerySet(models.QuerySet["Run"]):
    def open(self) -> "RunQuerySet":
        """Runs not finished yet: waiting for their turn, running, or stopped part-way (resumable)."""
        return self.filter(state__in=Run.OPEN_STATES)


class Run(models.Model):
    """One import, resync or sweep: what it was asked to do, by whom, how far it got and what it did.

    A run works through its contacts in id order and stores the last id it finished in `cursor` (in the
    same transaction as the users it changed), so an interrupted run continues where it stopped. The
    lease says which process works on it now; a lease that ran out (or whose process is gone) may be taken
    over, and taking it is a compare-and-set on this row, so two workers never work on one run.
    """

    class Kind(models.TextChoices):
        IMPORT = "import", "Import"
        RESYNC = "resync", "Resync"
        SWEEP = "sweep", "Sweep"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"  # waiting for a worker (a sweep: for its due time)
        RUNNING = "running", "Running"
        INTERRUPTED = "interrupted", "Interrupted"  # stopped part-way (Ctrl-C, a deploy): resumable
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.QUEUED, State.RUNNING, State.INTERRUPTED)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What it was asked: {"tag_id", "tag_name", "role", "notify", "limit"} for an import; {"tag_id"},
    # {"user_ids"} or {"all": true} for a resync. A command resumes the open run with the same arguments.
    arguments = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_from = models.CharField(max_length=16, blank=True, help_text="command, admin or schedule")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    message = models.TextField(blank=True, help_text="Why it stopped or failed, in words.")

    cursor = models.PositiveBigIntegerField(
        default=0, help_text="The last contact id (import) or user id (resync, sweep) finished."
    )
    # An import pages by "ids above the cursor"; on an account that ignores that condition it pages by offset
    # from here on (cursor still the highest id done, so a page that brings nothing new is noticed).
    paging_offset = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The next offset, when paging by offset (the id condition was ignored).",
    )
    total = models.PositiveIntegerField(null=True, blank=True, help_text="As Ontraport counted at the start.")
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0, help_text="Ontraport calls spent.")

    lease_owner = models.CharField(max_length=96, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="A scheduled sweep starts no earlier.")
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        # The table (and its constraint's name) from when Run was defined in accounts: the model moved to
        # this app, its rows did not (migrations: accounts 0015, adoption 0001).
        db_table = "accounts_run"
        ordering = ["-id"]
        constraints = [
            # One sweep at a time, whatever the number of workers scheduling the next one.
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="sweep", state__in=["queued", "running", "interrupted"]),
                name="accounts_run_one_open_sweep",
            )
        ]

    COUNTS = ("created", "linked", "updated", "unchanged", "skipped")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.describe_arguments()} ({self.status_text()})"

    def describe_arguments(self) -> str:
        arguments = self.arguments
        if arguments.get("tag_id"):
            text = f"tag {arguments.get('tag_name') or arguments['tag_id']}"
        elif arguments.get("user_ids"):
            text = f"{len(arguments['user_ids'])} user(s)"
        else:
            text = "all linked users"
        if arguments.get("dry_run"):
            text += ", dry run"
        return text

    def status_text(self) -> str:
        """`running 150/1,000` or `done`."""
        if self.state == self.State.RUNNING and self.total:
            return f"running {self.processed:,}/{self.total:,}"
        if self.state == self.State.RUNNING:
            return f"running {self.processed:,}"
        return str(self.get_state_display()).lower()

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}
