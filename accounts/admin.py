"""The admin of users, tags and field mappings. Thin: queries shaped for the changelists, and buttons that
call one service each (accounts.services.tags, accounts.services.fields_sync).

Everything shown here that came from Ontraport (names, tag names, profile values) is untrusted text: it is
rendered through Django's escaping (format_html), never marked safe.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from accounts.history import actor_of, history_record
from accounts.identity import email_key
from accounts.models import SEARCHED_COLUMNS, FieldMapping, OutboxChange, Tag, TagSubscription, User
from accounts.ontraport import ontraport_client
from accounts.paginator import CappedCountPaginator
from accounts.permissions import can_change_users
from accounts.services.contact_link import LinkRefused, user_link_contact
from accounts.services.fields_sync import field_mappings_sync_from_ontraport
from accounts.services.outbox import contact_push, user_tags_set
from accounts.services.outbox_send import outbox_replay
from accounts.services.tag_subscriptions import (
    tag_subscriptions_create,
    tag_subscriptions_delete,
    tag_subscriptions_refresh,
)
from accounts.services.tags import tags_sync_from_ontraport
from ontraport_client import OntraportError, contact_app_url


def breakable(text: str) -> SafeString:
    """`text` escaped, with a line-break opportunity before each "@" and "." (an e-mail wraps between its
    parts, not mid-word, in a narrow column)."""
    return format_html_join(SafeString("<wbr>"), "{}", ((part,) for part in re.split(r"(?=[@.])", text)))


class RowCount(Subquery):
    """How many rows a subquery returns, as a column."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


class _MembershipFilter(admin.SimpleListFilter):
    """Users linked to one row of a many-to-many (a tag, a group). The stock filter joins and adds DISTINCT,
    which at 50,000 users made the changelist's COUNT sort every column of every matching user; a subquery
    on the link table's index returns each user once."""

    relation = ""  # User's many-to-many field: "tags", "groups"
    link_field = ""  # the other side's id column in its link table: "tag_id", "group_id"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        link_table = getattr(User, self.relation).through
        members = link_table.objects.filter(**{self.link_field: int(value)}).values("user_id")
        return queryset.filter(pk__in=members)


class TagFilter(_MembershipFilter):
    title = "tag"
    parameter_name = "tags__id__exact"
    relation, link_field = "tags", "tag_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(tag.pk), str(tag)) for tag in Tag.objects.all()]


class RoleFilter(_MembershipFilter):
    title = "role"
    parameter_name = "groups__id__exact"
    relation, link_field = "groups", "group_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(group.pk), group.name) for group in Group.objects.order_by("name")]


class LinkedToOntraportFilter(admin.SimpleListFilter):
    title = "linked to Ontraport"
    parameter_name = "linked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(contact_id__isnull=False)
        if self.value() == "no":
            return queryset.filter(contact_id__isnull=True)
        return queryset


# What the Ontraport section says: tags edited here are applied on the site at once and sent to the contact
# by the worker (accounts.services.outbox), so the next webhook finds them there instead of undoing them.
TAGS_EDITABLE = (
    "Tags edited here are applied at once and sent to the contact in Ontraport within seconds (the worker "
    "sends them; see Changes sent to Ontraport). Profile values come from Ontraport and are shown "
    "read-only: change them in Ontraport (the contact link opens it), then press Resync."
)
# The user fields whose edit is sent to the contact (the fields the site owns; docs/sync.md).
PUSHED_FIELDS = ("email", "first_name", "last_name")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
    change_form_template = "admin/accounts/user/change_form.html"
    # contact_id__exact: the admin skips it for terms that are not whole numbers, so "alice" searches the
    # text fields only and "123" also finds contact 123 (by the unique index, not a LIKE).
    # SEARCHED_COLUMNS: the columns PostgreSQL's trigram index covers (accounts.models.User.Meta).
    search_fields = (*SEARCHED_COLUMNS, "contact_id__exact")
    # contact_id is set by webhooks, or by hand with "Link to Ontraport contact" (services.contact_link),
    # which checks the contact exists and is not linked to another user: never typed into the form.
    # Tags are edited here through accounts.services.outbox (save_related), never written directly.
    autocomplete_fields = ("tags",)
    readonly_fields = (
        "contact_link",
        "profile_table",
        "password_return_due_at",
        "password_return_attempts",
        "password_return_note",
    )
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            "Ontraport",
            {
                "description": TAGS_EDITABLE,
                "fields": (
                    "contact_link",
                    "tags",
                    "profile_table",
                    "password_return_due_at",
                    "password_return_attempts",
                    "password_return_note",
                ),
            },
        ),
    )

    class Media:
        css = {"all": ["accounts/admin.css"]}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "tags" and formfield is not None:
            # No "+" beside the tags: a Tag added in that pop-up names an id on the site only, and a tag
            # Ontraport does not have is skipped by its tag call (the Tags page says how to add one).
            formfield.widget.can_add_related = False
        return formfield

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        pushed = [name for name in PUSHED_FIELDS if name in form.changed_data]
        if change and pushed and obj.contact_id is not None:
            contact_push(user=obj, by=actor_of(request))  # the site-owned fields, as they are now

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The tags go through the service, not the form's many-to-many save: applied with the signals,
        and recorded for Ontraport in the same transaction (the admin's save is atomic)."""
        tags = form.cleaned_data.pop("tags", None)
        super().save_related(request, form, formsets, change)
        if tags is not None:
            user_tags_set(user=form.instance, tag_ids=frozenset(tag.pk for tag in tags), by=actor_of(request))

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

    list_display_links = ("account_name",)

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

    def get_urls(self) -> list[URLPattern]:
        link = path(
            "<int:user_id>/link-contact/",
            self.admin_site.admin_view(require_POST(self.link_contact)),
            name="accounts_user_link_contact",
        )
        return [link, *super().get_urls()]

    def link_contact(self, request: HttpRequest, user_id: int) -> HttpResponse:
        """The change page's "Link to a contact" form: the only way a protected user gets linked."""
        user = get_object_or_404(User, pk=user_id)
        if not can_change_users(request):
            raise PermissionDenied
        raw = request.POST.get("contact_id", "").strip()
        contact_id = int(raw) if raw.isascii() and raw.isdigit() else None
        try:
            if raw and contact_id is None:
                raise LinkRefused("A contact id is a positive whole number.")
            user_link_contact(user=user, contact_id=contact_id, client=ontraport_client())
        except LinkRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
        except OntraportError as error:
            self.message_user(request, f"Could not check the contact in Ontraport: {error}", messages.ERROR)
        else:
            done = f"linked to contact {contact_id}" if contact_id else "unlinked from Ontraport"
            history_record(actor=actor_of(request), objects=[user], message=f"Ontraport: {done} by hand")
            self.message_user(request, f"{user.get_username()} is now {done}.")
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    @admin.display(description="profile (from Ontraport)")
    def profile_table(self, user: User) -> SafeString | str:
        if not user.profile:
            return "—"
        # Each key under the label of the Ontraport field it comes from (one query), as the owner knows it.
        labels = dict(
            FieldMapping.objects.filter(target=FieldMapping.Target.PROFILE, attribute__in=list(user.profile))
            .exclude(label="")
            .values_list("attribute", "label")
        )
        rows = format_html_join(
            "",
            "{}",
            ((profile_row(labels.get(key), key, value),) for key, value in sorted(user.profile.items())),
        )
        return format_html("<table>{}</table>", rows)


def profile_row(label: str | None, key: str, value: object) -> SafeString:
    text = "" if value is None else str(value)
    if label:
        return format_html('<tr><th>{} <span class="help">{}</span></th><td>{}</td></tr>', label, key, text)
    return format_html("<tr><th>{}</th><td>{}</td></tr>", key, text)


class LoadsFromOntraport(admin.ModelAdmin):
    """A changelist button (POST-only, at `load_path`) that runs `load_all`: it fills this model from
    Ontraport. Loading creates and changes rows, so it takes both permissions, as the matching actions do."""

    load_path: str
    load_url_name: str
    load_all: Callable[[HttpRequest], None]

    def may_load(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_load_from_ontraport": self.may_load(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        @require_POST
        def load_view(request: HttpRequest) -> HttpResponse:
            if not self.may_load(request):
                raise PermissionDenied
            self.load_all(request)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

        load = path(self.load_path, self.admin_site.admin_view(load_view), name=self.load_url_name)
        return [load, *super().get_urls()]


TAG_ADD_HELP = (
    "This names a tag on the site only: it does not create the tag in Ontraport. Create tags in Ontraport "
    'and press "Refresh tag names from Ontraport" on the Tags page; add one here only to name an id '
    "Ontraport already has."
)


@admin.register(Tag)
class TagAdmin(LoadsFromOntraport):
    list_display = ("id", "name", "user_count", "subscribed", "name_checked_at")
    search_fields = ("name", "id__exact")
    readonly_fields = ("name_checked_at",)
    actions = ("refresh_from_ontraport", "subscribe_in_ontraport")
    load_path, load_url_name = "refresh/", "accounts_tag_refresh"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        # A count per tag of the page, read from the tag-link index; a COUNT grouped over the join read every
        # user's tags (and the changelist's own COUNT wrapped that again).
        links = User.tags.through.objects.filter(tag_id=OuterRef("pk")).order_by().values("id")
        return (
            super()
            .get_queryset(request)
            .annotate(user_count=RowCount(links))
            .prefetch_related("subscriptions")
        )

    @admin.display(description="Ontraport pushes changes")
    def subscribed(self, tag: Tag) -> str:
        events = sorted(subscription.get_event_display() for subscription in tag.subscriptions.all())
        return ", ".join(events) if events else "—"

    def has_subscribe_permission(self, request: HttpRequest) -> bool:
        # Events change users' tags from then on: the tag's change permission and the users'.
        return self.has_change_permission(request) and can_change_users(request)

    @admin.action(
        description="Subscribe: Ontraport tells the site when these tags are added or removed",
        permissions=["subscribe"],
    )
    def subscribe_in_ontraport(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        url = subscription_events_url()
        try:
            made = tag_subscriptions_create(
                tags=queryset, url=url, client=ontraport_client(), by=actor_of(request)
            )
        except OntraportError as error:
            self.message_user(request, f"Could not subscribe in Ontraport: {error}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Made {made} subscriptions in Ontraport: adding or removing these tags now updates the users' "
            f"tags on their own. Events go to {settings.SITE_URL}{reverse('ontraport-events')}.",
        )

    @admin.display(description="users", ordering="user_count")
    def user_count(self, tag: Tag) -> SafeString | int:
        count = int(getattr(tag, "user_count", 0))
        if not count:
            return 0
        url = reverse("admin:accounts_user_changelist") + f"?{TagFilter.parameter_name}={tag.pk}"
        return format_html('<a href="{}" title="The users with this tag">{}</a>', url, count)

    def get_fieldsets(self, request: HttpRequest, obj: Tag | None = None) -> Any:
        if obj is not None:
            return super().get_fieldsets(request, obj)
        return [(None, {"description": TAG_ADD_HELP, "fields": self.get_fields(request, obj)})]

    @admin.action(description="Refresh tag names from Ontraport", permissions=["add", "change"])
    def refresh_from_ontraport(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        # Ontraport's tag list comes in one paged read, so the whole list is refreshed whatever was selected.
        self.load_all(request)

    def load_all(self, request: HttpRequest) -> None:
        try:
            count = tags_sync_from_ontraport(client=ontraport_client())
        except OntraportError as error:
            self.message_user(request, f"Could not refresh tags from Ontraport: {error}", messages.ERROR)
            return
        self.message_user(request, f"Refreshed tag names from Ontraport: it has {count} tags.")


@admin.register(FieldMapping)
class FieldMappingAdmin(LoadsFromOntraport):
    # The form's validation is the model's clean(): a user attribute must be one of USER_ATTRIBUTES, so a
    # mapping can never make is_staff or groups webhook-controlled.
    list_display = ("ontraport_field", "label", "target", "attribute", "enabled")
    list_editable = ("enabled",)
    list_filter = ("enabled", "target")
    search_fields = ("ontraport_field", "label", "attribute")
    actions = ("load_from_ontraport",)
    load_path, load_url_name = "load/", "accounts_fieldmapping_load"
    readonly_fields = ("options",)  # loaded from Ontraport's field list, not typed in

    @admin.action(description="Load fields from Ontraport", permissions=["add", "change"])
    def load_from_ontraport(self, request: HttpRequest, queryset: QuerySet[FieldMapping]) -> None:
        self.load_all(request)

    def load_all(self, request: HttpRequest) -> None:
        try:
            created = field_mappings_sync_from_ontraport(client=ontraport_client())
        except OntraportError as error:
            self.message_user(request, f"Could not load fields from Ontraport: {error}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Loaded fields from Ontraport: {created} new mappings, created disabled; "
            "labels of existing mappings updated. Enable the ones the site should copy.",
        )


def subscription_events_url() -> str:
    """Where Ontraport POSTs tag events: the site's events URL, carrying the access key (Ontraport's
    subscriptions cannot send headers)."""
    key = quote(settings.FUSION_ACCESS_KEY, safe="")
    return f"{settings.SITE_URL}{reverse('ontraport-events')}?access_key={key}"


@admin.register(TagSubscription)
class TagSubscriptionAdmin(admin.ModelAdmin):
    """Ontraport's tag subscriptions of this site: made from the Tags page, removed here."""

    list_display = ("tag", "event", "ontraport_id", "last_code", "checked_at", "created_at", "created_by")
    list_select_related = ("tag",)
    list_filter = ("event",)
    actions = ("unsubscribe",)
    change_list_template = "admin/accounts/tagsubscription/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made with the Tags page's "Subscribe" action

    def has_change_permission(self, request: HttpRequest, obj: TagSubscription | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TagSubscription | None = None) -> bool:
        return False  # a row deleted here alone would leave Ontraport sending events: "Remove" unsubscribes

    def has_unsubscribe_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.delete_tagsubscription"))

    @admin.action(description="Remove: unsubscribe in Ontraport", permissions=["unsubscribe"])
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[TagSubscription]) -> None:
        try:
            removed = tag_subscriptions_delete(
                subscriptions=queryset, client=ontraport_client(), by=actor_of(request)
            )
        except OntraportError as error:
            self.message_user(request, f"Could not unsubscribe in Ontraport: {error}", messages.ERROR)
            return
        self.message_user(request, f"Removed {removed} subscriptions.")

    def get_urls(self) -> list[URLPattern]:
        @require_POST
        def refresh(request: HttpRequest) -> HttpResponse:
            if not self.has_view_permission(request):
                raise PermissionDenied
            try:
                count = tag_subscriptions_refresh(client=ontraport_client())
            except OntraportError as error:
                self.message_user(
                    request, f"Could not read Ontraport's subscriptions: {error}", messages.ERROR
                )
            else:
                self.message_user(request, f"Read Ontraport's list: {count} subscriptions of this site.")
            return HttpResponseRedirect(reverse("admin:accounts_tagsubscription_changelist"))

        view = path("refresh/", self.admin_site.admin_view(refresh), name="accounts_tagsubscription_refresh")
        return [view, *super().get_urls()]


@admin.register(OutboxChange)
class OutboxChangeAdmin(admin.ModelAdmin):
    """The way out's log: every change the site sent (or could not send) to Ontraport, with the reason."""

    list_display = ("id", "user", "what", "status", "contact_id", "attempts", "created_at", "sent_at")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "contact_id__exact")
    readonly_fields = (
        "user",
        "what",
        "status",
        "message",
        "contact_id",
        "attempts",
        "next_attempt_at",
        "created_at",
        "created_by",
        "sent_at",
    )
    fields = readonly_fields
    actions = ("replay",)

    @admin.display(description="change")
    def what(self, change: OutboxChange) -> str:
        return change.describe()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # changes are made by the site (accounts.services.outbox), never typed in

    def has_delete_permission(self, request: HttpRequest, obj: OutboxChange | None = None) -> bool:
        return False  # nothing accepted is ever lost: a failed change stays, to be read or replayed

    @admin.action(description="Send again (failed changes)", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[OutboxChange]) -> None:
        count = outbox_replay(ids=list(queryset.values_list("pk", flat=True)))
        history_record(
            actor=actor_of(request), objects=list(queryset), message=f"Ontraport: {count} changes sent again"
        )
        self.message_user(request, f"{count} failed changes wait to be sent again.")
