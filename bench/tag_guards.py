"""The cost of a tag check (accounts.tag_guards): queries and µs per check, in code, a view and a template.

.venv/bin/python bench/tag_guards.py [--database sqlite|postgres] [--tags 20] [--checks 2000] [--json]

A user holding --tags tags is checked --checks times on one user object (one request's): the first check
reads the tags (one query), the later ones must read nothing. Then whole requests through Django's test
client (session, auth, a view guarded by tags_required whose template checks again): a page with one
check and a page with --checks checks must cost the same queries. Prints the figures (one JSON line with
--json); nothing is asserted.
"""

import argparse
import json
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_check_us(check: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        check()
    return (time.perf_counter() - started) / n * 1e6


class QueryLog:
    """Every SQL statement run inside `with connection.execute_wrapper(log):` (Django clears
    connection.queries when a request starts, so CaptureQueriesContext cannot span a test-client request)."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.sql.append(sql)
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tags", type=int, default=20, help="tags the user holds")
    parser.add_argument("--checks", type=int, default=2000, help="checks timed after the first")
    parser.add_argument("--requests", type=int, default=50, help="requests timed per page")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()  # before Django is set up: --help prints and exits at once

    from bench.common import fresh_database, machine

    os.environ["DATABASE_URL"] = fresh_database(args.database, "bench_fusion_tag_guards")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusion_site.settings")
    os.environ.setdefault("FUSION_ACCESS_KEY", "bench-only-key-0123456789abcdef")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdef")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DEBUG"] = "false"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["STATIC_MANIFEST"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.http import HttpRequest, HttpResponse
    from django.template import engines
    from django.test import Client
    from django.urls import clear_url_caches, path

    from accounts.models import Tag, User
    from accounts.tag_guards import tags_required, user_has_tags
    from accounts.templatetags.tag_guards import has_tag

    call_command("migrate", verbosity=0)
    Tag.objects.bulk_create([Tag(id=n, name=f"Tag {n}") for n in range(1, args.tags + 2)])
    member = User.objects.create(username="member", email="member@example.com")
    member.tags.set(range(1, args.tags + 1))  # every tag but the last
    wanted, missing = "Tag 1", f"Tag {args.tags + 1}"

    figures: dict[str, Any] = {"database": args.database, "tags_held": args.tags, "checks": args.checks}

    def fresh_user() -> Any:
        return User.objects.get(pk=member.pk)  # what each request has

    # In code: the first check, then each later one, on one user object.
    firsts: list[float] = []
    for _ in range(20):
        user = fresh_user()
        first = QueryLog()
        with connection.execute_wrapper(first):
            started = time.perf_counter()
            user_has_tags(user=user, tags=[wanted])
            firsts.append((time.perf_counter() - started) * 1e6)
    figures["first_check_queries"] = len(first.sql)
    figures["first_check_us"] = round(statistics.median(firsts), 1)
    user = fresh_user()
    user.has_perm("tags.warm-up")  # the first has_perm also reads ModelBackend's permissions (Django's)
    template = engines["django"].from_string(
        "{% load tag_guards %}{% for n in checks %}{% if user|has_tag:'"
        + wanted
        + "' %}{% endif %}{% endfor %}"
    )
    context = {"user": user, "checks": range(args.checks)}
    later: dict[str, Callable[[], object]] = {
        "user_has_tags": lambda: user_has_tags(user=user, tags=[wanted, missing], match="any"),
        "has_tag_filter": lambda: has_tag(user, wanted),
        "has_perm": lambda: user.has_perm(f"tags.{missing}"),
    }
    after = QueryLog()
    with connection.execute_wrapper(after):
        for name, check in later.items():
            figures[f"{name}_us_per_check"] = round(per_check_us(check, args.checks), 3)
        started = time.perf_counter()
        template.render(context)
        figures["template_if_has_tag_us_per_check"] = round(
            (time.perf_counter() - started) / args.checks * 1e6, 3
        )
    figures["later_checks_queries"] = len(after.sql)

    # Whole requests: a guarded view whose template checks 1 or --checks times.
    page = engines["django"].from_string(
        "{% load tag_guards %}{% for n in checks %}{% if user|has_tag:'" + wanted + "' %}.{% endif %}"
        "{% if perms.tags.Tag_missing %}!{% endif %}{% endfor %}"
    )

    @tags_required(wanted)
    def guarded(request: HttpRequest) -> HttpResponse:
        return HttpResponse(page.render({"checks": range(int(request.GET["checks"]))}, request))

    # The site's own URLs too: its webhook middleware, which every request passes first, looks up the events
    # endpoint's by name.
    from fusion_site.urls import urlpatterns as site_urlpatterns

    urls = types.ModuleType("bench_tag_guards_urls")
    urls.urlpatterns = [path("guarded/", guarded), *site_urlpatterns]  # type: ignore[attr-defined]
    settings.ROOT_URLCONF = urls
    clear_url_caches()
    client = Client()
    client.force_login(member)
    for checks in (1, args.checks):
        url = f"/guarded/?checks={checks}"
        captured = QueryLog()
        with connection.execute_wrapper(captured):
            assert client.get(url).status_code == 200
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        label = "request_few_checks" if checks == 1 else "request_many_checks"
        figures[f"{label}_queries"] = len(captured.sql)
        figures[f"{label}_tag_reads"] = sum("accounts_tag" in sql for sql in captured.sql)
        figures[f"{label}_ms"] = round(statistics.median(timings), 3)
    # The guard, then two checks per loop in the template (the filter, and perms: has_perm).
    figures["request_few_checks"], figures["request_many_checks"] = 3, 1 + 2 * args.checks
    figures["machine"] = machine()

    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.database}, a user holding {args.tags} tags:")
    print(
        f"  first check in a request: {figures['first_check_queries']} query, {figures['first_check_us']} µs"
    )
    print(f"  {args.checks} later checks of each kind: {figures['later_checks_queries']} queries in all")
    for name in (*later, "template_if_has_tag"):
        print(f"    {name}: {figures[f'{name}_us_per_check']} µs a check")
    for label in ("request_few_checks", "request_many_checks"):
        print(
            f"  a request with {figures[label]} checks: {figures[f'{label}_queries']} queries "
            f"({figures[f'{label}_tag_reads']} of tags; the others: session, user, ModelBackend's two), "
            f"{figures[f'{label}_ms']} ms median"
        )


if __name__ == "__main__":
    main()
