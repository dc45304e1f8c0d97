"""The way out: the site's own changes (tags, sign-ups, profile edits) recorded for Ontraport.

Each service writes the change on the site AND one OutboxChange row in the same transaction, so a change is
never lost (it commits with the row) and never sent before it commits. The worker sends the rows
(accounts.services.outbox_send). The tag services signal tags_applied / tags_removed exactly as the
webhooks do; the webhook Ontraport sends back for the change finds the user already so and changes nothing
(no second signal: docs/sync.md, "Echoes").
"""

from collections.abc import Iterable, Mapping

from django.db import transaction

from accounts.models import FieldMapping, OutboxChange, Tag, User
from accounts.services.tags import TagChange, user_tags_write
from accounts.signals import outbox_queued

TagRef = int | str | Tag


class UnknownTagError(ValueError):
    """A tag named in a call could not be found or made in Ontraport."""


def tags_resolve(*, tags: Iterable[TagRef]) -> frozenset[int]:
    """Ontraport tag ids for tags given as ids, Tag rows or names.

    A name is looked up on the site first (exact name); an unknown name is looked up in Ontraport and made
    there when it has no such tag (the client's create_tag looks it up again before retrying a POST, so a
    timeout never makes two), then remembered as a Tag row: each new name costs Ontraport calls once. Run
    before the caller's transaction opens where possible: it may call Ontraport."""
    ids: set[int] = set()
    names: set[str] = set()
    for tag in tags:
        if isinstance(tag, Tag):
            ids.add(int(tag.pk))
        elif isinstance(tag, bool):
            raise TypeError("a tag is an id, a name or a Tag")
        elif isinstance(tag, int):
            ids.add(tag)
        elif isinstance(tag, str) and tag.strip().isdigit():
            ids.add(int(tag.strip()))
        elif isinstance(tag, str) and tag.strip():
            names.add(tag.strip())
        else:
            raise TypeError(f"a tag is an id, a name or a Tag, not {tag!r}")
    if ids:
        Tag.objects.bulk_create([Tag(id=tag_id) for tag_id in ids], ignore_conflicts=True)
    known = dict(Tag.objects.filter(name__in=names).values_list("name", "id"))
    for name in sorted(names - known.keys()):
        ids.add(_tag_made_in_ontraport(name))
    return frozenset(ids | set(known.values()))


def _tag_made_in_ontraport(name: str) -> int:
    from accounts.ontraport import ontraport_client
    from ontraport_client import OntraportError

    client = ontraport_client()
    try:
        found = client.find_tag(name) or client.create_tag(name)
    except OntraportError as error:
        raise UnknownTagError(
            f"tag {name!r} is not on the site and Ontraport could not make it: {error}"
        ) from error
    Tag.objects.update_or_create(id=found.id, defaults={"name": found.name})
    return found.id


def _current_tags(user: User) -> frozenset[int]:
    through = User.tags.through
    return frozenset(through.objects.filter(user_id=user.pk).values_list("tag_id", flat=True))


def user_tags_apply(*, user: User, tags: Iterable[TagRef], by: User | None = None) -> frozenset[int]:
    """Give the user these tags on the site and in Ontraport. Returns the ids newly applied (those the user
    already had change nothing and are not sent)."""
    return _user_tags_change(user=user, applied=tags_resolve(tags=tags), removed=frozenset(), by=by)[0]


def user_tags_remove(*, user: User, tags: Iterable[TagRef], by: User | None = None) -> frozenset[int]:
    """Take these tags from the user on the site and in Ontraport. Returns the ids removed. A name the site
    does not know is no tag of the user's: nothing to remove, and nothing is made in Ontraport for it."""
    given = list(tags)
    names = {tag.strip() for tag in given if isinstance(tag, str) and not tag.strip().isdigit()}
    known = set(Tag.objects.filter(name__in=names).values_list("id", flat=True))
    rest = [tag for tag in given if not (isinstance(tag, str) and tag.strip() in names)]
    removed = tags_resolve(tags=rest) | frozenset(known)
    return _user_tags_change(user=user, applied=frozenset(), removed=removed, by=by)[1]


def user_tags_set(
    *, user: User, tag_ids: frozenset[int], by: User | None = None
) -> tuple[frozenset[int], frozenset[int]]:
    """Set the user's tags to exactly `tag_ids` (an edit of the whole list: the admin's user page)."""
    Tag.objects.bulk_create([Tag(id=tag_id) for tag_id in tag_ids], ignore_conflicts=True)
    with transaction.atomic():
        current = _current_tags(User.objects.select_for_update().get(pk=user.pk))
        return _user_tags_change(user=user, applied=tag_ids - current, removed=current - tag_ids, by=by)


@transaction.atomic
def _user_tags_change(
    *, user: User, applied: frozenset[int], removed: frozenset[int], by: User | None
) -> tuple[frozenset[int], frozenset[int]]:
    # The user's row is locked so two edits of one user's tags are applied one after the other, each on
    # the other's result (a webhook applying the same user's contact takes the same lock in its batch).
    User.objects.select_for_update().filter(pk=user.pk).first()
    current = _current_tags(user)
    change = TagChange(user=user, applied=applied - current, removed=(removed - applied) & current)
    if not change.applied and not change.removed:
        return frozenset(), frozenset()
    user_tags_write(changes=[change])
    _queue(
        OutboxChange(
            user=user,
            tags_added=sorted(change.applied),
            tags_removed=sorted(change.removed),
            created_by=by,
        )
    )
    return change.applied, change.removed


def site_owned_fields(*, user: User) -> dict[str, str]:
    """The contact fields the site owns for this user: e-mail and names, and the enabled mappings of user
    attributes and profile values, from the site's values. Never a username or password (Ontraport's copy
    of a password is the Return Password's business) and never an empty value (it would erase Ontraport's).
    """
    values = {"email": user.email, "firstname": user.first_name, "lastname": user.last_name}
    for mapping in FieldMapping.objects.filter(enabled=True):
        if mapping.target == FieldMapping.Target.USER:
            if mapping.attribute in ("username", "password"):
                continue
            value = str(getattr(user, mapping.attribute, "") or "")
        elif mapping.is_password_profile:
            continue
        else:
            value = str((user.profile or {}).get(mapping.attribute, "") or "")
        values[mapping.ontraport_field] = value
    return {field: value for field, value in values.items() if value}


@transaction.atomic
def contact_push(
    *, user: User, fields: Mapping[str, str] | None = None, by: User | None = None
) -> OutboxChange | None:
    """Send the user's site-owned fields (all of them, or just `fields`: Ontraport field → value) to its
    contact (a user without one gets one only when FUSION_PUSH_NEW_USERS is on; else the change fails,
    saying so).
    Staff and superusers are never pushed (docs/identity.md: they are linked by hand only)."""
    if user.is_protected:
        return None
    values = dict(fields) if fields is not None else site_owned_fields(user=user)
    values = {str(key): str(value) for key, value in values.items() if str(value)}
    if not values:
        return None
    return _queue(OutboxChange(user=user, fields=values, created_by=by))


@transaction.atomic
def user_contact_create(*, user: User) -> OutboxChange | None:
    """A user who signed up on the site gets a contact: POST /Contacts/saveorupdate by e-mail, so an existing
    contact with that e-mail is linked, never duplicated (sent by the worker; docs/identity.md)."""
    if user.contact_id is not None or user.is_protected or not user.email:
        return None
    return _queue(OutboxChange(user=user, fields=site_owned_fields(user=user), create_contact=True))


def _queue(change: OutboxChange) -> OutboxChange:
    change.save()
    # Wake the worker once the change is committed (webhooks connects to this signal: accounts never
    # imports webhooks). A rolled-back change sends nothing.
    transaction.on_commit(lambda: outbox_queued.send(sender=OutboxChange), robust=True)
    return change
