"""The Users pages, accounts' part: the list (accounts.admin.user_list) and a user's page: tags edited
through the outbox service, the site-owned fields sent to the contact, the profile read-only, and "Link to
Ontraport contact".

Everything shown here that came from Ontraport (names, tag names, profile values) is untrusted text: it is
rendered through Django's escaping (format_html), never marked safe.

Not registered here: the layers above add what they own to this page (webhooks.accounts_admin: the link to
the user's deliveries; webhooks.adoption.admin: "Resync from Ontraport"), and webhooks.adoption.admin
registers the finished admin, once.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from accounts.admin.shared import ontraport_errors_shown
from accounts.admin.user_list import UserList
from accounts.history import actor_of, history_record
from accounts.models import FieldMapping, User
from accounts.ontraport import ontraport_client
from accounts.permissions import can_change_users
from accounts.services.contact_link import LinkRefused, user_link_contact
from accounts.services.outbox import contact_push, user_tags_set

# What the Ontraport section says: tags edited here are applied on the site at once and sent to the contact
# by the worker (accounts.services.outbox), so the next webhook finds them there instead of undoing them.
TAGS_EDITABLE = (
    "Tags edited here are applied at once and sent to the contact in Ontraport within seconds (the worker "
    "sends them; see Changes sent to Ontraport). Profile values come from Ontraport and are shown "
    "read-only: change them in Ontraport (the contact link opens it), then press Resync."
)
# The user fields whose edit is sent to the contact (the fields the site owns; docs/sync.md).
PUSHED_FIELDS = ("email", "first_name", "last_name")


class UserAdmin(UserList, DjangoUserAdmin[User]):
    """accounts' user admin: the list (UserList) and a user's page. Registered, once, by
    webhooks.adoption.admin, with what webhooks and adoption add to it."""

    actions: tuple[str, ...] = ()  # none of accounts' own: the layers above add theirs
    change_form_template = "admin/accounts/user/change_form.html"
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
        with ontraport_errors_shown(request, self, could_not="check the contact in Ontraport"):
            try:
                if raw and contact_id is None:
                    raise LinkRefused("A contact id is a positive whole number.")
                user_link_contact(user=user, contact_id=contact_id, client=ontraport_client())
            except LinkRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
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
