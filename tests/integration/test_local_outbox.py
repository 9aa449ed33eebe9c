"""The local outbox reads moto's SNS in-process: every SMS, and every email as SNS would deliver it (to the
subscriptions whose filter policy takes it)."""

import json
from datetime import UTC, datetime

import boto3

from infra.local.outbox import Outbox
from tests.integration.conftest import Aws
from tests.integration.dispatch_support import make_world

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_outbox_lists_texts_and_emails_to_the_agent_they_were_for(aws: Aws) -> None:
    world = make_world(aws)
    outbox = Outbox()
    ann = world.add_agent("Ann", "+14155550101", at=NOW)
    world.add_agent("Ben", "+14155550102", at=NOW)
    mention = world.mention("1", NOW, text="@brand hello?")
    world.dispatcher.dispatch(mention.id, NOW)

    messages = outbox.messages()
    assert [(m["channel"], m["to"]) for m in messages] == [("sms", "+14155550101"), ("email", ann)]
    sms, email = messages
    assert sms["body"].startswith("http://127.0.0.1:3000/r/")
    assert sms["body"].endswith('\n[X] @alice: "@brand hello?"')
    assert sms["subject"] is None and sms["sent_at"].endswith("Z")
    assert email["subject"] == "[X] post from @alice: @brand hello?"
    assert email["body"].startswith("Reply: http://127.0.0.1:3000/r/")
    assert outbox.messages() == messages  # seen once, listed once

    # A message no subscription takes is still listed, with nobody to deliver it to.
    boto3.client("sns").publish(
        TopicArn=aws.environment["NOTIFICATION_TOPIC_ARN"],
        Message="for nobody",
        MessageAttributes={"agent_id": {"DataType": "String", "StringValue": "agt-unknown"}},
    )
    status, headers, body = outbox.http_response()
    assert status == 200 and headers["content-type"].startswith("application/json")
    listed = json.loads(body)["messages"]
    assert len(listed) == 3 and listed[-1]["to"] is None and listed[-1]["body"] == "for nobody"
