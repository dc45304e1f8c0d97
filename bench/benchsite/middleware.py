"""Answers the floor and bare paths right after the webhook middleware, so all three endpoints pass the
same middleware (SecurityMiddleware, then straight to the view: no sessions, CSRF or auth) and the
comparison measures only what the views themselves do."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from bench.benchsite.views import bare, floor

SHORTCUTS = {"/bench/floor/": floor, "/bench/bare/": bare}


class BenchShortcutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = SHORTCUTS.get(request.path)
        if view is not None:
            return view(request)
        return self.get_response(request)
