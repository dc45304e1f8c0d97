"""The Users list: columns that fit 1280 px with the sidebar and the filters open, the filters, the search
(a whole e-mail address by its key, a contact id, part of a name), and a count that stops about 1,000 users
past the page shown ("more than N") so a filter matching half of 50,000 users stays quick."""

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.admin.shared import LinkedToOntraportFilter, RoleFilter, TagFilter, breakable
from accounts.identity import email_key
from accounts.models import SEARCHED_COLUMNS, User
from accounts.paginator import CappedCountPaginator
from ontraport_client import contact_app_url


class UserList(admin.ModelAdmin[User]):
    """The list part of accounts' user admin (accounts.admin.users.UserAdmin)."""

    # Fits 1280 px with the sidebar and the filters open: username and e-mail in one column (the e-mail
    # only when it differs), the names in one, the two flags in one (shown only when they are not a
    # member's usual), long addresses wrapping between their parts (accounts/admin.css).
    list_display = (
        "account_name",
        "full_name",
        "contact_link",
        "roles",
        "tag_chips",
        "account_flags",
    )
    list_filter = (LinkedToOntraportFilter, TagFilter, RoleFilter, "is_staff", "is_active")
    list_per_page = 50
    # A filtered or searched list is counted this many rows past the page shown, then says "more than N".
    count_ahead = 1000
    show_full_result_count = False
    list_display_links = ("account_name",)

    # contact_id__exact: the admin skips it for terms that are not whole numbers, so "alice" searches the
    # text fields only and "123" also finds contact 123 (by the unique index, not a LIKE).
    # SEARCHED_COLUMNS: the columns PostgreSQL's trigram index covers (accounts.models.User.Meta).
    search_fields = (*SEARCHED_COLUMNS, "contact_id__exact")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        """A whole e-mail address is found by its key (an index, any case); a number also by contact id;
        other text by the stock partial match on names and e-mail (a scan of the users)."""
        term = search_term.strip()
        if "@" in term and " " not in term and (key := email_key(term)):
            return queryset.filter(email_key=key), False
        return super().get_search_results(request, queryset, search_term)

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> CappedCountPaginator:
        # A filter or a search matching half of 50,000 users spent most of the page's database time in an
        # exact COUNT: the list says "more than N" instead (templates admin/accounts/user/*.html).
        page = request.GET.get(PAGE_VAR, "1")
        # Nine digits at most: the count's LIMIT must stay within a 64-bit integer (a larger page number is
        # refused by the changelist afterwards anyway).
        page_number = int(page) if page.isascii() and page.isdigit() and len(page) <= 9 else 1
        return CappedCountPaginator(
            queryset,
            per_page,
            page_number=page_number,
            # Past list_max_show_all, so a list not counted to its end never offers "Show all" (every row).
            count_ahead=max(self.count_ahead, self.list_max_show_all + per_page),
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # Prefetched, not annotated: a COUNT over the tag table grouped by user cost a scan of every user's
        # tags on each page; two prefetch queries read only the page's rows.
        return super().get_queryset(request).prefetch_related("groups", "tags")

    @admin.display(description="username / e-mail", ordering="username")
    def account_name(self, user: User) -> SafeString:
        name = breakable(user.get_username())
        if not user.email or user.email == user.get_username():
            return name
        return format_html('{}<br><span class="help">{}</span>', name, breakable(user.email))

    @admin.display(description="name", ordering="last_name")
    def full_name(self, user: User) -> str:
        return user.get_full_name() or "—"

    @admin.display(description="account")
    def account_flags(self, user: User) -> SafeString | str:
        flags = [name for name, on in (("staff", user.is_staff), ("inactive", not user.is_active)) if on]
        return format_html_join(" ", '<span class="chip chip-flag">{}</span>', ((f,) for f in flags)) or ""

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        # Reads the prefetched groups: one query for the whole page, not one per row.
        return ", ".join(sorted(group.name for group in user.groups.all()))

    @admin.display(description="tags")
    def tag_chips(self, user: User) -> SafeString | str:
        tags = sorted(user.tags.all(), key=lambda tag: (tag.name.casefold(), tag.pk))
        if not tags:
            return "—"
        return format_html_join("", '<span class="chip">{}</span>', ((str(tag),) for tag in tags))

    @admin.display(description="contact", ordering="contact_id")
    def contact_link(self, user: User) -> SafeString | str:
        if user.contact_id is None:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            contact_app_url(user.contact_id),
            user.contact_id,
        )
