"""Tags guard content: which tags a signed-in user holds, read once per request, and the guards built on it
(`tags_required`, `TagsRequiredMixin`; the `has_tag` filter and `accounts.backends.TagPermissionBackend`
use the same reading). docs/content-guards.md says what each does and why.

A guard names tags by name ("Members") or by Ontraport tag id (1). The first check on a user reads that
user's tags with their names in ONE query and keeps it on the user object, which Django builds afresh for
each request (as ModelBackend keeps its permission cache), so every later check in the request, in the view
or its templates, is a lookup in memory. A name is resolved to the ids of the user's tags that carry it
and the comparison is on those ids; a name no tag carries, a tag whose name is not known yet (an id first
seen on a contact), an anonymous or an inactive user: no tag, so the guard denies.
"""

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from inspect import iscoroutinefunction
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse

from accounts.models import Tag

TagRef = str | int
Match = Literal["all", "any"]
DENIED_TEMPLATE = "accounts/tags_denied.html"
# Where a user object keeps its reading for the rest of the request (a user object lives for one request).
_CACHE_ATTRIBUTE = "_fusion_tags"
# Tag names and ids named by guards defined so far, for `manage.py check` (accounts.checks, fusion.W012).
guarded_tags: set[TagRef] = set()


@dataclass(frozen=True)
class UserTags:
    """The tags one user holds: their ids, and those ids by tag name."""

    ids: frozenset[int] = frozenset()
    ids_by_name: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def has(self, tag: TagRef) -> bool:
        if isinstance(tag, int):
            return tag in self.ids
        return bool(self.ids_by_name.get(tag))


NO_TAGS = UserTags()


def user_tags_read(*, user: Any) -> UserTags:
    """The user's tags, read at the first call for this user object and kept on it; none for an anonymous
    or inactive user (an inactive user's tags are kept for when it is active again, but grant nothing)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return NO_TAGS
    cached: UserTags | None = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    ids_by_name: defaultdict[str, set[int]] = defaultdict(set)
    ids = set()
    for tag_id, name in Tag.objects.filter(users=user.pk).order_by().values_list("id", "name"):
        ids.add(tag_id)
        if name:
            ids_by_name[name].add(tag_id)
    tags = UserTags(
        ids=frozenset(ids), ids_by_name={name: frozenset(found) for name, found in ids_by_name.items()}
    )
    setattr(user, _CACHE_ATTRIBUTE, tags)
    return tags


def user_tags_forget(*, user: Any) -> None:
    """Drop the kept reading, for code that changes a user's tags and checks them again in one request."""
    if getattr(user, _CACHE_ATTRIBUTE, None) is not None:
        delattr(user, _CACHE_ATTRIBUTE)


def user_has_tags(*, user: Any, tags: Iterable[TagRef], match: Match = "all") -> bool:
    """Whether the user holds all (or, with match="any", at least one) of the tags."""
    held = user_tags_read(user=user)
    found = (held.has(tag) for tag in tags)
    return all(found) if match == "all" else any(found)


def tag_refs_checked(tags: Iterable[object], match: str = "all") -> tuple[TagRef, ...]:
    """The tags a guard names, refused when there are none, one is neither a name nor an id, or `match` is
    neither "all" nor "any" (mistakes that would otherwise deny everyone, or let too many in, silently)."""
    if match not in ("all", "any"):
        raise ValueError(f'A tag guard matches "all" or "any" of its tags, not {match!r}.')
    refs = tuple(tags)
    if not refs:
        raise ValueError("A tag guard needs at least one tag name or id.")
    for ref in refs:
        if isinstance(ref, bool) or not isinstance(ref, str | int) or ref == "":
            raise TypeError(f"A tag guard names tags by name (str) or Ontraport id (int), not {ref!r}.")
    return refs  # type: ignore[return-value]


def tags_denied_response(*, request: HttpRequest) -> HttpResponse:
    """A signed-in user without the tags: a redirect to FUSION_TAG_DENIED_URL when set, else 403 with a
    page that says access needs a membership and names no tag (which one is missing is not the visitor's
    business, and tag names can be internal: "Refund requested", "Chargeback")."""
    if settings.FUSION_TAG_DENIED_URL:
        return HttpResponseRedirect(resolve_url(settings.FUSION_TAG_DENIED_URL))
    return TemplateResponse(request, DENIED_TEMPLATE, status=403)


def tags_guard_answer(
    *,
    request: HttpRequest,
    tags: Iterable[TagRef],
    match: Match,
    login_url: str | None,
    redirect_field_name: str,
) -> HttpResponse | None:
    """None when the request may go on; else the redirect to log in (Django's, to LOGIN_URL by default)
    or the denial."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url, redirect_field_name)
    if user_has_tags(user=request.user, tags=tags, match=match):
        return None
    return tags_denied_response(request=request)


def tags_required(
    *tags: TagRef,
    match: Match = "all",
    login_url: str | None = None,
    redirect_field_name: str = REDIRECT_FIELD_NAME,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@tags_required("Members")`, `@tags_required("Gold", "Silver", match="any")`, `@tags_required(5)`:
    anonymous visitors are sent to log in, signed-in users without the tags get `tags_denied_response`.
    Works on sync and async views."""
    refs = tag_refs_checked(tags, match)
    guarded_tags.update(refs)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        def answer(request: HttpRequest) -> HttpResponse | None:
            return tags_guard_answer(
                request=request,
                tags=refs,
                match=match,
                login_url=login_url,
                redirect_field_name=redirect_field_name,
            )

        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                # The user and its tags are read from the database: sync code, run off the event loop.
                refused = await sync_to_async(answer)(request)
                return refused if refused is not None else await view(request, *args, **kwargs)

            return async_guarded

        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = answer(request)
            return refused if refused is not None else view(request, *args, **kwargs)

        return guarded

    return decorator


class TagsRequiredMixin(AccessMixin):
    """For class-based views: `class Lessons(TagsRequiredMixin, TemplateView): required_tags = ("Members",)`
    (`tags_match = "any"` for one of them; `login_url` and `redirect_field_name` as Django's mixins)."""

    required_tags: tuple[TagRef, ...] = ()
    tags_match: Match = "all"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Checked when the class is defined, as the decorator checks its arguments (a view with no tags
        # set is refused at its first request, in dispatch: it would let every signed-in user in).
        if cls.required_tags:
            cls.required_tags = tag_refs_checked(cls.required_tags, cls.tags_match)
            guarded_tags.update(cls.required_tags)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not self.required_tags:
            raise ImproperlyConfigured(f"{type(self).__name__} sets no required_tags.")
        refused = tags_guard_answer(
            request=request,
            tags=self.required_tags,
            match=self.tags_match,
            login_url=self.get_login_url(),
            redirect_field_name=self.get_redirect_field_name(),
        )
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
