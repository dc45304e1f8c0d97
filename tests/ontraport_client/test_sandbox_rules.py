"""The sandbox's Ontraport rules: "when a contact gains (or loses) tag X, ping this URL", with merge fields,
fired by whatever changed the tag (the API's tag calls included), each ping answered by the receiver."""

import pytest

from ontraport_client.sandbox import SandboxControlError


def test_a_rule_pings_the_url_when_an_api_call_adds_its_tag(sandbox, ontraport, http_recorder):
    url = f"{http_recorder.url}/?wpf_action=update_tags&contact_id=[Contact ID]&email=[Email]"
    sandbox.add_rule(on="sub_tag", tag_id=4, url=url, method="get")

    ontraport.add_tags([1, 2], [4])  # "The tag is now being processed.": applied as it answers

    rules = sandbox.rules()  # waits for pings in flight
    assert [(rule["sent"], rule["last_code"]) for rule in rules] == [(2, 200)]
    pings = sorted(http_recorder.requests, key=lambda request: request.query["contact_id"])
    assert [(p.method, p.query["contact_id"]) for p in pings] == [("GET", "1"), ("GET", "2")]
    assert pings[0].query["email"] == "dana.adams@example.com"


def test_a_rule_fires_only_on_a_real_change_of_its_tag(sandbox, ontraport, http_recorder):
    sandbox.add_rule(on="sub_tag", tag_id=1, url=f"{http_recorder.url}/?c=[Contact ID]", method="post-form")
    sandbox.add_rule(
        on="unsub_tag", tag_id=2, url=f"{http_recorder.url}/?gone=[Contact ID]", data="id=[Contact ID]"
    )

    ontraport.add_tags([1], [1])  # contact 1 already has tag 1: nothing changes, nothing is sent
    ontraport.add_tags([1], [7])  # another tag
    ontraport.remove_tags([1], [2])

    assert [rule["sent"] for rule in sandbox.rules()] == [0, 1]
    (ping,) = http_recorder.requests
    assert (ping.method, ping.query, ping.form()) == ("POST", {"gone": "1"}, {"id": "1"})


def test_a_rule_the_sandbox_cannot_run_is_refused_with_the_reason(sandbox):
    with pytest.raises(SandboxControlError, match="sub_tag"):
        sandbox.add_rule(on="tag_added", tag_id=4, url="http://127.0.0.1:9/")
    with pytest.raises(SandboxControlError, match="method"):
        sandbox.add_rule(on="sub_tag", tag_id=4, url="http://127.0.0.1:9/", method="put")
    assert sandbox.rules() == []


def test_reset_clears_the_rules(sandbox):
    sandbox.add_rule(on="sub_tag", tag_id=4, url="http://127.0.0.1:9/")
    sandbox.reset(data="demo")
    assert sandbox.rules() == []
