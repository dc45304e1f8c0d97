"""The access key: the only credential an Ontraport webhook carries (Ontraport signs nothing)."""

from django.conf import settings
from django.utils.crypto import constant_time_compare
from django.views.decorators.debug import sensitive_variables


@sensitive_variables()
def access_key_valid(candidate: str) -> bool:
    """True when `candidate` is the current key or one still accepted during a rotation.

    Every accepted key is compared, each in constant time, so the time taken says nothing about which key
    (if any) came close.
    """
    valid = False
    for key in (settings.FUSION_ACCESS_KEY, *settings.FUSION_PREVIOUS_ACCESS_KEYS):
        if key:
            valid |= constant_time_compare(candidate, key)
    return valid
