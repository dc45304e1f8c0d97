"""The meta of Ontraport's built-in contact fields (``GET Contacts/meta``), as far as the site cares.

Custom fields (``f1534`` ...) come from the seed data. Every contact the sandbox stores has every field
listed here plus the custom ones, null when unset, as live contacts do.
"""

from __future__ import annotations

from typing import Any


def _field(alias: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {
        "alias": alias,
        "type": type_,
        "required": "0",
        "unique": "0",
        "editable": "1",
        "deletable": "0",
    } | extra


STANDARD_CONTACT_FIELDS: dict[str, dict[str, Any]] = {
    "firstname": _field("First Name", "text"),
    "lastname": _field("Last Name", "text"),
    "email": _field("Email", "email", unique="1"),
    "owner": _field("Owner", "parent"),
    "address": _field("Address", "text"),
    "address2": _field("Address 2", "text"),
    "city": _field("City", "text"),
    "state": _field("State", "state"),
    "zip": _field("Zip Code", "text"),
    "country": _field("Country", "country"),
    "birthday": _field("Birthday", "fulldate"),
    "home_phone": _field("Home Phone", "phone"),
    "sms_number": _field("SMS Number", "sms"),
    "office_phone": _field("Office Phone", "phone"),
    "company": _field("Company", "text"),
    "title": _field("Title", "text"),
    "website": _field("Website", "url"),
    "date": _field("Date Added", "timestamp", editable="0"),
    "dla": _field("Date of Last Activity", "timestamp", editable="0"),
    "dlm": _field("Date Modified", "timestamp", editable="0"),
    "contact_cat": _field("Contact Tags", "subscription"),
    "bulk_mail": _field(
        "Bulk Email Status",
        "drop",
        options={"0": "Transactional Only", "1": "Single Opt-in", "2": "Double Opt-in", "-2": "Hard Bounce"},
    ),
    "bulk_sms": _field(
        "Bulk SMS Status", "drop", options={"0": "Unconfirmed", "1": "Opt-in", "-1": "Opt-out"}
    ),
    "timezone": _field("Timezone", "text"),
    "unique_id": _field("Unique ID", "text", editable="0"),
    "ip_addy": _field("IP Address", "text"),
}

# Values a new contact gets when the creator does not give them.
NEW_CONTACT_DEFAULTS: dict[str, str] = {"owner": "1", "contact_cat": "", "bulk_mail": "1", "bulk_sms": "0"}
