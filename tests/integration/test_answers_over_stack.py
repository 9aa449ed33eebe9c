"""Answering without opening anything, through the system as `SOCIALCARE_PARAMETERS="SmsOriginationNumber=...
ReplyEmailDomain=..." make run` serves it. Text back: the alert's code in `socialcare local outbox`, the
agent's answer published to InboundSmsTopic by `socialcare simulate sms-reply` (AWS's payload), delivered by
the local stack to TextReplyFunction as SNS would, and posted once to the platform simulator. Reply to the
email: the notification's reply address in the outbox, `socialcare simulate email-reply` the SES way."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.cli.simulate import inbound_sms_payload
from tests.integration.test_reply_over_http import eventually
from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.integration

TWO_WAY = "+18005550199"
DOMAIN = "reply.example.com"
AGENT_PHONE = "+14155550188"
STRANGER = "+14155550999"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("text-back-stack")) / "stack.log"
    parameters = {"SOCIALCARE_PARAMETERS": f"SmsOriginationNumber={TWO_WAY} ReplyEmailDomain={DOMAIN}"}
    with running_stack(parameters, log_path=str(log)) as running:
        running.add_agent_on_shift("Tess Texter", "tess@example.com", AGENT_PHONE)
        # The CLI runs in another terminal, without the stack's SOCIALCARE_PARAMETERS: it asks the stack.
        running.extra_env = {}
        yield running


def texts_to(stack: RunningStack, phone: str) -> list[str]:
    return [m["body"] for m in stack.outbox() if m["channel"] == "sms" and m["to"] == phone]


def text_containing(stack: RunningStack, fragment: str) -> str:
    return eventually(
        lambda: next((t for t in texts_to(stack, AGENT_PHONE) if fragment in t), None),
        f"a text with {fragment!r}",
    )


def sms_reply(stack: RunningStack, text: str, sender: str = AGENT_PHONE) -> dict[str, Any]:
    published: dict[str, Any] = stack.cli_json(
        "simulate", "sms-reply", "--from", sender, "--text", text, "--json"
    )
    return published


def publish(stack: RunningStack, topic_arn: str, payload: dict[str, Any]) -> None:
    """What AWS publishes, straight to the local stack's moto (as the CLI does, without a subprocess)."""
    sns = stack.client("sns")
    sns.publish(TopicArn=topic_arn, Message=json.dumps(payload))


def test_an_alert_answered_by_text_posts_once_and_undo_deletes_it(stack: RunningStack) -> None:
    exchange = stack.cli_json(
        "simulate", "x-mention", "--from", "@jane", "--text", "@brand where is it", "--json"
    )
    tweet_id = exchange["sent"]["body"]["tweet_create_events"][0]["id_str"]
    alert = text_containing(stack, "@brand where is it")
    found = re.search(r"Reply ([A-Z0-9]{2,3}) and your answer", alert)
    assert found, alert
    code = found.group(1)

    published = sms_reply(stack, f"{code} On it, Jane!")
    payload = published["message"]
    assert payload["originationNumber"] == AGENT_PHONE and payload["destinationNumber"] == TWO_WAY
    assert payload["messageBody"] == f"{code} On it, Jane!" and payload["inboundMessageId"]

    def answers() -> list[dict[str, Any]]:
        return [
            c
            for c in stack.simulator_calls()
            if c["method"] == "POST" and c["body"].get("reply", {}).get("in_reply_to_tweet_id") == tweet_id
        ]

    (post,) = eventually(lambda: answers() or None, "the texted answer posted")
    assert post["body"]["text"] == "On it, Jane!"
    text_containing(stack, f"Posted to @jane on X. Reply UNDO {code}")

    # The same payload again (SNS delivers at least once), a stranger, and an unknown code; then UNDO, whose
    # answer says the earlier ones were handled (one topic, handled in order).
    topic = published["topic_arn"]
    publish(stack, topic, payload)
    publish(stack, topic, inbound_sms_payload(STRANGER, TWO_WAY, f"{code} Refund approved!"))
    publish(stack, topic, inbound_sms_payload(AGENT_PHONE, TWO_WAY, "#XX9 hello"))
    text_containing(stack, "XX9 is not one of your open alerts.")
    publish(stack, topic, inbound_sms_payload(AGENT_PHONE, TWO_WAY, f"UNDO {code}"))
    text_containing(stack, "Deleted your reply to @jane on X.")

    assert len(answers()) == 1
    deletes = [c for c in stack.simulator_calls() if c["method"] == "DELETE"]
    assert len(deletes) == 1 and deletes[0]["path"].startswith("/2/tweets/")
    assert texts_to(stack, STRANGER) == []


def test_an_emailed_answer_posts_only_its_new_text_and_a_forged_one_nothing(stack: RunningStack) -> None:
    exchange = stack.cli_json(
        "simulate", "x-mention", "--from", "@kim", "--text", "@brand wrong size", "--json"
    )
    tweet_id = exchange["sent"]["body"]["tweet_create_events"][0]["id_str"]
    notification = eventually(
        lambda: next(
            (m for m in stack.outbox() if m.get("reply_to") and "@brand wrong size" in m["body"]), None
        ),
        "the notification email with its reply address",
    )
    address = notification["reply_to"]
    assert notification["to"] == "tess@example.com" and address.endswith(f"@{DOMAIN}")

    def answers() -> list[dict[str, Any]]:
        return [
            c
            for c in stack.simulator_calls()
            if c["method"] == "POST" and c["body"].get("reply", {}).get("in_reply_to_tweet_id") == tweet_id
        ]

    forged = stack.cli_json(
        "simulate", "email-reply", "--to", address, "--from", "tess@example.com", "--text", "Refund!",
        "--quote", "--dkim", "fail", "--spf", "fail", "--json",
    )  # fmt: skip
    assert forged["answer"]["results"] == [{"results": ["refused"]}]
    text = "A new pair ships today."
    sent = stack.cli_json(
        "simulate", "email-reply", "--to", address, "--from", "Tess@Example.com", "--text", text,
        "--quote", "--json",
    )  # fmt: skip
    assert sent["answer"]["results"] == [{"results": ["queued"]}]
    assert "> ## Reply above this line" in sent["message"]  # the notification was quoted
    (post,) = eventually(lambda: answers() or None, "the emailed answer posted")
    assert post["body"]["text"] == text
