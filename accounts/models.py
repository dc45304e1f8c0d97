"""What the site knows about Ontraport contacts: users linked to contacts, tags, and field mappings."""

import re
from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper

from accounts.identity import email_key, username_key


class Tag(models.Model):
    """An Ontraport tag. The primary key is Ontraport's tag id, so a contact's `contact_cat` maps directly."""

    id = models.PositiveBigIntegerField(primary_key=True, verbose_name="Ontraport tag id")
    name = models.CharField(max_length=255, blank=True)
    # Set when the name was last looked up in Ontraport's tag list; None for an id first seen on a contact
    # whose name is not known yet (the list is refreshed for it at most once per FUSION_TAG_REFRESH_SECONDS).
    name_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or f"Tag {self.id}"


# What the admin's user search matches by part (accounts.admin.UserAdmin.search_fields).
SEARCHED_COLUMNS = ("username", "email", "first_name", "last_name")


class User(AbstractUser):
    """A site user, optionally linked to one Ontraport contact.

    At most one user per contact, and at most one user per normalised e-mail (`email_key`, see
    accounts/identity.py): those two constraints are what make "never a duplicate user" hold when webhooks
    for one contact race, and what every e-mail comparison uses.
    """

    contact_id = models.PositiveBigIntegerField(
        null=True, blank=True, unique=True, verbose_name="Ontraport contact id"
    )
    # The e-mail in the one form it is compared on (accounts.identity.email_key), kept in step by save():
    # None for an empty or unusable address (such a user is never found by e-mail).
    email_key = models.CharField(max_length=254, null=True, blank=True, unique=True, editable=False)
    # The username in the one form "taken" is decided on (accounts.identity.username_key), kept in step by
    # save(): SQLite's LOWER folds ASCII only, so `émile` was created beside `Émile` there and not on
    # PostgreSQL. Indexed, not unique: names made by hand before it existed may share a key. Nullable only
    # so SQLite adds the column in place (migration 0011); save() always sets it.
    username_key = models.CharField(  # noqa: DJ001
        max_length=600, null=True, blank=True, db_index=True, editable=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="users")
    # Mapped Ontraport fields that are not user attributes (FieldMapping target "profile").
    profile = models.JSONField(default=dict, blank=True)
    # Set while a generated password still has to be written to Ontraport's "Return Password" field (the
    # plaintext is never stored: a fresh password is generated when the write is retried).
    password_return_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Writes of a generated password tried so far (capped by FUSION_MAX_ATTEMPTS), and why the last one
    # failed or why the return was abandoned: shown on the user's admin page.
    password_return_attempts = models.PositiveSmallIntegerField(default=0)
    password_return_note = models.CharField(max_length=255, blank=True)
    # Set while a welcome e-mail is owed: it is sent right after the user's creation commits, and cleared
    # then; if the process dies first (or the mail server fails), the worker sends it once this time passes.
    welcome_email_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while the OLD address is owed a notice that Ontraport changed the e-mail of an account someone
    # has logged in to (accounts.services.email_change). Nullable so SQLite adds the columns in place.
    email_change_notice_to = models.CharField(max_length=254, null=True, blank=True)  # noqa: DJ001
    email_change_notice_due_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta(AbstractUser.Meta):
        indexes = [
            # The admin's search by part of a name or e-mail is `UPPER(column) LIKE '%term%'` on each of
            # these columns (icontains): a trigram index on the same expressions serves it on PostgreSQL,
            # where it was a scan of every user. PostgreSQL only (migration 0009): SQLite has no GIN
            # indexes, so a change here needs a migration made the same way (AddIndexOnPostgreSQL), not the
            # one makemigrations writes.
            GinIndex(
                *(OpClass(Upper(column), name="gin_trgm_ops") for column in SEARCHED_COLUMNS),
                name="accounts_user_search_trgm",
            )
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived data, so it is kept here rather than by every caller: a key out of step with the e-mail
        # would let a look-alike address past the uniqueness rule.
        self.email_key = email_key(self.email or "")
        self.username_key = username_key(self.username or "")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_key"}
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*kwargs["update_fields"], "username_key"}
        super().save(*args, **kwargs)

    def validate_unique(self, exclude: Collection[str] | None = None) -> None:
        # Forms (the admin) check the key too, so a clash is a form error rather than an IntegrityError.
        super().validate_unique(exclude)
        key = email_key(self.email or "")
        if key and User.objects.filter(email_key=key).exclude(pk=self.pk).exists():
            raise ValidationError({"email": "A user with this e-mail address already exists."})

    @property
    def is_protected(self) -> bool:
        """Staff and superusers: webhooks never touch their e-mail, password or groups."""
        return self.is_staff or self.is_superuser


# Words that name a password, in any case: a field so named or labelled ("Site Password", "user_pwd") is never
# copied into a profile, where it would be stored in clear and shown in the admin.
PASSWORD_WORDS = frozenset({"password", "passwd", "pass", "pwd", "passcode", "passphrase"})
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def names_a_password(text: str) -> bool:
    """Whether a field's key, label or profile key names a password: one of PASSWORD_WORDS as a word
    ("Site Password", "sitePwd", "user_pass"), or "password" anywhere ("sitepassword")."""
    if "password" in text.lower():
        return True
    return any(word.lower() in PASSWORD_WORDS for word in _WORDS.findall(text))


class FieldMapping(models.Model):
    """Maps one Ontraport contact field to a user attribute or a profile value."""

    class Target(models.TextChoices):
        USER = "user", "User attribute"
        PROFILE = "profile", "Profile value"

    # User attributes a mapping may write. Anything else (is_staff, groups ...) is never webhook-controlled.
    USER_ATTRIBUTES = ("username", "password", "email", "first_name", "last_name")

    ontraport_field = models.CharField(
        max_length=64, help_text="Ontraport field key, e.g. firstname, email or f1534."
    )
    label = models.CharField(max_length=255, blank=True, help_text="Ontraport's name for the field.")
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.PROFILE)
    attribute = models.CharField(
        max_length=64,
        help_text="For a user attribute: username, password, email, first_name or last_name. "
        "For a profile value: the key it is stored under.",
    )
    enabled = models.BooleanField(default=True)
    # A dropdown or list field's {option id: label} from Ontraport's field list: contacts carry the id
    # ("3"), profile values store the label ("Gold").
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["ontraport_field"]
        constraints = [
            models.UniqueConstraint(fields=["target", "attribute"], name="accounts_fieldmapping_one_source")
        ]

    def __str__(self) -> str:
        return f"{self.ontraport_field} → {self.get_target_display().lower()} {self.attribute}"

    @property
    def is_password_profile(self) -> bool:
        """A profile value from a field that holds a password (by its key, label or profile key)."""
        return self.target == self.Target.PROFILE and any(
            names_a_password(text) for text in (self.ontraport_field, self.label, self.attribute)
        )

    def clean(self) -> None:
        if self.target == self.Target.USER and self.attribute not in self.USER_ATTRIBUTES:
            raise ValidationError(
                {"attribute": f"A user attribute must be one of: {', '.join(self.USER_ATTRIBUTES)}."}
            )
        if self.enabled and self.is_password_profile:
            raise ValidationError(
                {
                    "enabled": f"{self.label or self.ontraport_field} holds a password: a profile value is "
                    "stored in clear and shown in the admin, so it cannot be one. Map it to the user "
                    "attribute password (used once, hashed, when the user is created), or leave it off."
                }
            )


class TagSubscription(models.Model):
    """Ontraport pushes changes of this tag to the site: one Ontraport webhook subscription per tag and event,
    made from the Tags page, so no Ontraport rule is needed to keep the tag in step."""

    class Event(models.TextChoices):
        ADDED = "sub_tag", "tag added"
        REMOVED = "unsub_tag", "tag removed"

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="subscriptions")
    event = models.CharField(max_length=16, choices=Event.choices)
    ontraport_id = models.PositiveBigIntegerField(unique=True, verbose_name="Ontraport subscription id")
    # What the site's URL last answered Ontraport (0: no event sent yet), as of checked_at.
    last_code = models.PositiveIntegerField(default=0, verbose_name="last response code")
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The admin who subscribed (None: read from Ontraport's own list, or made by code).
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["tag_id", "event"]
        constraints = [
            models.UniqueConstraint(fields=["tag", "event"], name="accounts_tagsubscription_one_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} {self.event}"


class OutboxChangeQuerySet(models.QuerySet["OutboxChange"]):
    def ready(self) -> "OutboxChangeQuerySet":
        """Changes a worker may send now: waiting and due, or taken by a worker whose lease ran out (it died
        or was killed mid-send; sending again is safe, see accounts.services.outbox_send)."""
        from django.utils import timezone

        now = timezone.now()
        return self.filter(
            models.Q(status=OutboxChange.Status.PENDING, next_attempt_at__lte=now)
            | models.Q(status=OutboxChange.Status.SENDING, lease_expires_at__lt=now)
        )


class OutboxChange(models.Model):
    """One change the site made that Ontraport must be told of (the way out: docs/sync.md).

    Written in the same transaction as the change itself (a user's tags, a sign-up, a profile edit), so a
    change is never lost and never sent before it is committed; the worker sends waiting rows in batches and
    records what was sent or why it failed, here, where the admin shows it."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="outbox_changes")
    # Ontraport tag ids to add to / remove from the user's contact.
    tags_added = models.JSONField(default=list, blank=True)
    tags_removed = models.JSONField(default=list, blank=True)
    # Ontraport field → value (the mapped fields the site owns), written with PUT /Contacts.
    fields = models.JSONField(default=dict, blank=True)
    # A site user without a contact: make (or find by e-mail) one first (FUSION_PUSH_NEW_USERS).
    create_contact = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(auto_now_add=True)
    claimed_by = models.CharField(max_length=96, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The contact it went to (set when sent), and what happened, in words.
    contact_id = models.PositiveBigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who made the change (None: code, a sign-up).
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "change sent to Ontraport"
        verbose_name_plural = "changes sent to Ontraport"
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="accounts_outbox_waiting",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"change {self.pk} of user {self.user_id}"

    def describe(self) -> str:
        parts = []
        if self.create_contact:
            parts.append("make or find the contact by e-mail")
        if self.tags_added:
            parts.append("add tags " + ", ".join(str(tag) for tag in self.tags_added))
        if self.tags_removed:
            parts.append("remove tags " + ", ".join(str(tag) for tag in self.tags_removed))
        if self.fields:
            parts.append("set " + ", ".join(sorted(self.fields)))
        return "; ".join(parts) or "nothing"
