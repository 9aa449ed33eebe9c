"""Reply to the email, in-process against moto with ReplyEmailDomain set: the notification goes through SES
with its own reply address, the agent's answer is stored where SES's S3 action puts it and handed to
EmailReplyFunction with SES's receipt, and only the new text reaches the platform simulator."""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_string, policy
from typing import Any

import boto3
import pytest

from infra.cli.simulate import reply_email, ses_receipt_event
from infra.simulator.server import PlatformSimulator
from socialcare.data.replies import ReplyState
from socialcare.dispatch.notices import REPLY_ABOVE
from socialcare.models import Author
from tests.integration.conftest import Aws, Invoke
from tests.integration.dispatch_support import emails, make_world
from tests.integration.reply_support import ReplyWorld, make_reply_world

DOMAIN = "reply.example.com"
ANN = "ann@example.com"


@pytest.fixture(autouse=True)
def _reply_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before the `aws` fixture provisions: the template's receiving side exists only with the parameter.
    monkeypatch.setenv("SOCIALCARE_PARAMETERS", f"ReplyEmailDomain={DOMAIN}")


class MailWorld:
    def __init__(self, aws: Aws, replies: ReplyWorld, handler: Invoke) -> None:
        self.aws, self.replies, self._handler = aws, replies, handler
        self.dispatch = make_world(aws)
        self.dispatch.add_agent("Ann", "+14155550101", at=datetime.now(UTC))

    def notification(self, external_id: str) -> tuple[str, str]:
        """A mention dispatched to Ann; returns the email's reply address and body."""
        now = datetime.now(UTC)
        mention = self.dispatch.mention(external_id, now, author=Author(id="7", handle="jane"))
        self.dispatch.dispatcher.dispatch(mention.id, now)
        from moto.ses.models import ses_backends

        raw = ses_backends["123456789012"]["us-east-1"].sent_messages[-1].raw_data
        sent = message_from_string(raw, policy=policy.default)
        assert sent["To"] == ANN and str(sent["From"]) == f"Social Care <alerts@{DOMAIN}>"
        body = str(sent.get_body(preferencelist=("plain",)).get_content())  # type: ignore[attr-defined]
        return str(sent["Reply-To"]), body

    def receive(self, to: str, sender: str, text: str, quoted: str | None, **verdicts: Any) -> Any:
        auto = verdicts.pop("auto_reply", False)
        message = reply_email(to, sender, text, quoted, auto_reply=auto)
        message_id = uuid.uuid4().hex
        bucket = self.aws.resolver.refs["InboundMailBucket"]
        boto3.client("s3").put_object(Bucket=bucket, Key=f"inbound/{message_id}", Body=message.as_bytes())
        return self._handler(ses_receipt_event(message_id, message, to, **verdicts))

    def posts(self) -> list[Any]:
        return [c for c in self.replies.simulator.calls if c.method == "POST" and c.path == "/2/tweets"]

    def emails_to_ann(self) -> list[dict[str, Any]]:
        from socialcare.data.agents import agent_id_for

        return [e for e in emails() if e["agent_id"] == agent_id_for(ANN)]


@pytest.fixture
def world(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> MailWorld:
    replies = make_reply_world(aws, handlers, running_simulator, dev_config)
    return MailWorld(aws, replies, handlers("EmailReplyFunction"))


def test_a_reply_with_the_quoted_notification_posts_only_the_new_text(world: MailWorld) -> None:
    address, body = world.notification("1850000000000000901")
    assert re.fullmatch(rf"r-[a-z2-7]{{32}}@{re.escape(DOMAIN)}", address)
    assert body.startswith(REPLY_ABOVE + "\n")

    answer = world.receive(address, "Ann@Example.com", "So sorry, Jane!\nA new one ships today.", body)
    assert answer == {"results": ["queued"]}
    world.replies.drain()
    assert [c.body["text"] for c in world.posts()] == ["So sorry, Jane!\nA new one ships today."]
    (reply,) = world.replies.replies(world.dispatch.stored("x-1850000000000000901"))
    assert reply.via == "email" and reply.state is ReplyState.SENT
    confirmation = world.emails_to_ann()[-1]
    assert confirmation["subject"] == "Social Care: posted on X"
    assert "So sorry, Jane!" in confirmation["body"]

    # The same address again: the notification's link sent its one reply.
    assert world.receive(address, ANN, "And again", None) == {"results": ["refused"]}
    world.replies.drain()
    assert len(world.posts()) == 1


@pytest.mark.parametrize(
    ("sender", "verdicts", "reason"),
    [
        ("mallory@example.net", {}, "it came from mallory@example.net, not from ann@example.com"),
        (ANN, {"dkim": "FAIL", "spf": "FAIL"}, "the sending server could not be verified"),
        (ANN, {"auto_reply": True}, "it is an automatic reply"),
    ],
)
def test_refused_replies_post_nothing_and_the_agent_is_told_why(
    world: MailWorld, sender: str, verdicts: dict[str, Any], reason: str
) -> None:
    address, body = world.notification("1850000000000000902")
    before = len(world.emails_to_ann())
    assert world.receive(address, sender, "Refund approved!", body, **verdicts) == {"results": ["refused"]}
    world.replies.drain()
    assert world.posts() == []
    (refusal,) = world.emails_to_ann()[before:]
    assert refusal["subject"] == "Social Care: your emailed answer was not posted"
    assert reason in refusal["body"]
    assert re.search(r"Answer on the reply page instead: http://127\.0\.0\.1:3000/r/\S+", refusal["body"])


def test_mail_to_an_unknown_address_is_dropped_without_an_answer(world: MailWorld) -> None:
    world.notification("1850000000000000903")
    before = len(emails())
    unknown = f"r-{'a' * 32}@{DOMAIN}"
    assert world.receive(unknown, ANN, "Hello?", None) == {"results": ["ignored"]}
    assert len(emails()) == before and world.posts() == []
