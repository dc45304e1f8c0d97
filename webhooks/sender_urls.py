"""The URLs a site owner pastes into Ontraport ("Ping a URL" in a rule, "Send a webhook" in a campaign)."""

from dataclasses import dataclass
from urllib.parse import quote

from django.urls import reverse

# Ontraport replaces this merge field with the contact's id when it sends the webhook.
CONTACT_ID_MERGE_FIELD = "[Contact ID]"
EXAMPLE_ROLE = "customer"


@dataclass(frozen=True)
class SenderUrl:
    purpose: str
    url: str


def events_url_for_ontraport(*, base_url: str, access_key: str) -> str:
    """Where Ontraport POSTs the events of the site's tag subscriptions, key filled in: its subscriptions
    cannot send headers, so the key travels in the URL."""
    return f"{base_url.rstrip('/')}{reverse('ontraport-events')}?access_key={quote(access_key, safe='')}"


def webhook_urls_for_ontraport(*, base_url: str, access_key: str) -> list[SenderUrl]:
    """The seed's URLs with the key filled in: update_tags, update, add, an add with options, and test.

    The merge field stays literal (Ontraport fills it in); the key is percent-encoded in case it holds a
    character that means something in a query string.
    """
    root = base_url.rstrip("/") + "/"
    key = quote(access_key, safe="")

    def url(action: str, extra: str = "", *, contact: bool = True) -> str:
        contact_part = f"&contact_id={CONTACT_ID_MERGE_FIELD}" if contact else ""
        return f"{root}?wpf_action={action}&access_key={key}{contact_part}{extra}"

    return [
        SenderUrl("Update a user's tags", url("update_tags")),
        SenderUrl("Update a user's tags and fields", url("update")),
        SenderUrl("Create a user (or update the existing one)", url("add")),
        SenderUrl(
            f"Create a user, send the welcome e-mail, give the role {EXAMPLE_ROLE!r} "
            "(the role must exist as a group; an unknown role falls back to the default)",
            url("add", f"&send_notification=true&role={EXAMPLE_ROLE}"),
        ),
        SenderUrl('Test the connection (answers {"success": true})', url("test", contact=False)),
    ]
