"""Read-only questions about runs (imports, resyncs, sweeps)."""

from webhooks.adoption.models import Run


def runs_recent(*, limit: int) -> list[Run]:
    """The latest `limit` runs, newest first, with who started them: one query."""
    return list(Run.objects.select_related("started_by").order_by("-id")[:limit])
