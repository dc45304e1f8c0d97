"""Ontraport's documented request and answer shapes, one table for the client and the sandbox alike.

Each row is one call as Ontraport documents it (its source named): the request on the wire (method, path,
query, body) and the shape of the answer's ``data``. ``test_contract.py`` runs every row twice: the client's
method against a recorder (it must send exactly this request, and read this answer), and this request
against the sandbox (it must answer in this shape). Neither can drift from Ontraport again without a test
failing. Sources: PHP SDK = Ontraport/SDK-PHP; .NET = the .NET client; WPF = WP Fusion; see
../shared/reference/ontraport-api.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ontraport_client import OntraportClient

URL = "https://members.example.com/webhooks/ontraport/events/?access_key=K"
# The fields the client's contact lists ask for when one custom field (f1534) is mapped.
LIST_FIELDS = "id,email,firstname,lastname,contact_cat,f1534"
CONTACT_ROW = {"id": "2", "email": "liam.chen@example.com", "firstname": "Liam", "lastname": "Chen"}
SUBSCRIPTION_ROW = {
    "id": "1",
    "event": "sub_tag(3)",
    "data": '{"format":"notify"}',
    "url": URL,
    "last_code": "0",
    "last_hook": "",
    "last_payload": "",
}


@dataclass(frozen=True)
class Shape:
    name: str
    source: str
    call: Callable[[OntraportClient], Any]  # the client method that makes this request
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # a form-encoded body
    json: dict[str, Any] | None = None  # a JSON body
    answer: Any = None  # a documented answer's ``data``, fed to the client
    # The keys every object of the sandbox's answer carries (a list answer: every row); None: any.
    answer_keys: frozenset[str] | None = None
    answer_is_list: bool = False
    prepare: Callable[[Any], None] | None = None  # sandbox set-up before the request is sent to it


def _subscribed(sandbox: Any) -> None:
    sandbox.add_foreign_webhooks([{"event": "sub_tag(3)", "url": URL, "data": '{"format":"notify"}'}])


SHAPES: list[Shape] = [
    Shape(
        name="subscribe to a tag added",
        source="PHP SDK Webhooks::subscribe; Ontraport's 'API Webhook Subscriptions'; clients send a form",
        call=lambda client: client.webhook_subscribe(url=URL, event="sub_tag", tag_id=3),
        method="POST",
        path="Webhook/subscribe",
        form={"url": URL, "event": "sub_tag(3)", "data": '{"format":"notify"}'},
        answer=SUBSCRIPTION_ROW,
        answer_keys=frozenset({"id", "event", "data", "url"}),
    ),
    Shape(
        name="subscribe to a tag removed",
        source="as above: the tag named in the event, unsub_tag(N)",
        call=lambda client: client.webhook_subscribe(url=URL, event="unsub_tag", tag_id=3),
        method="POST",
        path="Webhook/subscribe",
        form={"url": URL, "event": "unsub_tag(3)", "data": '{"format":"notify"}'},
        answer={**SUBSCRIPTION_ROW, "event": "unsub_tag(3)"},
        answer_keys=frozenset({"id", "event", "data", "url"}),
    ),
    Shape(
        name="list subscriptions, first page",
        source="PHP SDK Webhooks::retrieveMultiple (start, range; paged like every list)",
        call=lambda client: client.webhook_subscriptions(),
        method="GET",
        path="Webhooks",
        query={"start": "0", "range": "50"},
        answer=[SUBSCRIPTION_ROW],
        answer_keys=frozenset({"id", "event", "data", "url", "last_code", "last_hook", "last_payload"}),
        answer_is_list=True,
        prepare=_subscribed,
    ),
    Shape(
        name="unsubscribe",
        source="PHP SDK Webhooks::unsubscribe: DELETE with id",
        call=lambda client: client.webhook_unsubscribe(1),
        method="DELETE",
        path="Webhook/unsubscribe",
        query={"id": "1"},
        answer="Deleted",
        prepare=_subscribed,
    ),
    Shape(
        name="count a tag's contacts",
        source=".NET client (since 2019): objects/tag with count=true",
        call=lambda client: client.count_contacts_with_tag(1),
        method="GET",
        path="objects/tag",
        query={"objectID": "0", "tag_id": "1", "count": "true"},
        answer={"count": "7"},
        answer_keys=frozenset({"count"}),
    ),
    Shape(
        name="a page of a tag's contacts after an id",
        source="reference 'Paging, filtering and counting': objects/tag takes sort, condition, listFields",
        call=lambda client: client.contacts_with_tag_page(1, after_id=2),
        method="GET",
        path="objects/tag",
        query={
            "objectID": "0",
            "tag_id": "1",
            "range": "50",
            "start": "0",
            "sort": "id",
            "sortDir": "asc",
            "listFields": LIST_FIELDS,
            "condition": '[{"field":{"field":"id"},"op":">","value":{"value":2}}]',
        },
        answer=[{**CONTACT_ROW, "id": "3"}],
        answer_keys=frozenset(LIST_FIELDS.split(",")),
        answer_is_list=True,
    ),
    Shape(
        name="a page of a tag's contacts by offset",
        source="as above; WP Fusion pages objects/tag by start",
        call=lambda client: client.contacts_with_tag_from(1, start=50),
        method="GET",
        path="objects/tag",
        query={
            "objectID": "0",
            "tag_id": "1",
            "range": "50",
            "start": "50",
            "sort": "id",
            "sortDir": "asc",
            "listFields": LIST_FIELDS,
        },
        answer=[],
        answer_is_list=True,
    ),
    Shape(
        name="ids of a tag's contacts",
        source="WP Fusion: objects/tag with listFields (ids only)",
        call=lambda client: list(client.contacts_with_tag(1)),
        method="GET",
        path="objects/tag",
        query={"objectID": "0", "tag_id": "1", "range": "50", "start": "0", "listFields": "id"},
        answer=[{"id": "1"}],
        answer_keys=frozenset({"id"}),
        answer_is_list=True,
    ),
    Shape(
        name="contacts by id",
        source="PHP SDK retrieveMultiple (ids, start, range, ..., listFields)",
        call=lambda client: client.get_contacts([2]),
        method="GET",
        path="Contacts",
        query={"ids": "2", "range": "50", "listFields": LIST_FIELDS},
        answer=[CONTACT_ROW],
        answer_keys=frozenset(LIST_FIELDS.split(",")),
        answer_is_list=True,
    ),
    Shape(
        name="every contact with an e-mail",
        source="Ontraport API docs: object/getByEmail with all=1 answers data.ids",
        call=lambda client: client.find_contact_ids_by_email("liam.chen@example.com"),
        method="GET",
        path="object/getByEmail",
        query={"objectID": "0", "email": "liam.chen@example.com", "all": "1"},
        answer={"ids": ["2"]},
        answer_keys=frozenset({"ids"}),
    ),
    Shape(
        name="the tag list, contact tags kept",
        source="PHP SDK Objects::retrieveMultiple objectID=14; WP Fusion keeps object_type_id 0",
        call=lambda client: client.list_tags(),
        method="GET",
        path="Tags",
        query={"start": "0", "range": "50", "listFields": "tag_id,tag_name,object_type_id"},
        answer=[{"tag_id": "1", "tag_name": "Members", "object_type_id": "0"}],
        answer_keys=frozenset({"tag_id", "tag_name", "object_type_id"}),
        answer_is_list=True,
    ),
    Shape(
        name="create a tag",
        source="PHP SDK Objects::create with objectID=14, in its named form POST /Tags (tag_name)",
        call=lambda client: client.create_tag("Early Birds"),
        method="POST",
        path="Tags",
        json={"tag_name": "Early Birds"},
        answer={"tag_id": "9", "tag_name": "Early Birds"},
        answer_keys=frozenset({"tag_id", "tag_name"}),
    ),
    Shape(
        name="add tags to contacts",
        # The SDK sends this one as a form, WP Fusion (live accounts) as JSON; the client sends JSON.
        source="PHP SDK Objects::addTag (objectID, add_list, ids)",
        call=lambda client: client.add_tags([2], [4]),
        method="PUT",
        path="objects/tag",
        json={"objectID": 0, "add_list": "4", "ids": "2"},
        answer="The tag is now being processed.",
    ),
    Shape(
        name="remove tags from contacts",
        source="PHP SDK Objects::removeTag (objectID, remove_list, ids)",
        call=lambda client: client.remove_tags([2], [3]),
        method="DELETE",
        path="objects/tag",
        json={"objectID": 0, "remove_list": "3", "ids": "2"},
        answer="The tag is now being processed.",
    ),
    Shape(
        name="save or update a contact by e-mail: a new one",
        source="PHP SDK Contacts::saveOrUpdate (update_by=email); reference: new → the full record",
        call=lambda client: client.contact_save_or_update({"email": "zoe@example.com", "firstname": "Zoe"}),
        method="POST",
        path="Contacts/saveorupdate",
        json={"update_by": "email", "email": "zoe@example.com", "firstname": "Zoe"},
        answer={"id": "13", "email": "zoe@example.com", "firstname": "Zoe"},
        answer_keys=frozenset({"id", "email", "firstname"}),
    ),
    Shape(
        name="save or update a contact by e-mail: an existing one",
        source="as above; reference: existing → {attrs: {changed fields..., id}}",
        call=lambda client: client.contact_save_or_update(
            {"email": "liam.chen@example.com", "lastname": "Li"}
        ),
        method="POST",
        path="Contacts/saveorupdate",
        json={"update_by": "email", "email": "liam.chen@example.com", "lastname": "Li"},
        answer={"attrs": {"lastname": "Li", "id": "2"}},
        answer_keys=frozenset({"attrs"}),
    ),
    Shape(
        name="update a contact's fields",
        source="PHP SDK Contacts::update (id plus the fields); reference: → {attrs: {...}}",
        call=lambda client: client.update_contact(2, {"firstname": "Liam"}),
        method="PUT",
        path="Contacts",
        json={"id": 2, "firstname": "Liam"},
        answer={"attrs": {"firstname": "Liam", "id": "2"}},
        answer_keys=frozenset({"attrs"}),
    ),
    Shape(
        name="contact field meta",
        source="PHP SDK Contacts::retrieveMeta (format=byId)",
        call=lambda client: client.contact_fields(),
        method="GET",
        path="Contacts/meta",
        query={"format": "byId"},
        answer={"0": {"name": "Contact", "fields": {"email": {"alias": "Email", "type": "email"}}}},
        answer_keys=frozenset({"0"}),
    ),
]
