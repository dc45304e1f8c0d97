"""`{% load tag_guards %}` then `{% if user|has_tag:"Gold" %}` (or an Ontraport tag id: `user|has_tag:5`)."""

from typing import Any

from django import template

from accounts.tag_guards import user_tags_read

register = template.Library()


@register.filter
def has_tag(user: Any, tag: str | int) -> bool:
    """Whether the user holds the tag; False for anonymous and inactive users and for a name no tag has."""
    # An id written in a template arrives as an int only when unquoted (`has_tag:5`); "5" is a name.
    return user_tags_read(user=user).has(tag)
