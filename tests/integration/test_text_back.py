"""Text back in-process against moto: an alert names a code, the agent's text to the two-way number comes in
on InboundSmsTopic (as the SNS event Lambda gets), and the answer goes the reply page's way to the platform
simulator, once. Texts go through moto's SNS (SMS_VIA_SNS, as in the local stack)."""

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.cli.simulate import inbound_sms_payload
from infra.local.event_sources import sns_event
from infra.simulator.server import PlatformSimulator
from socialcare.data import table
from socialcare.data.agents import AgentStore
from socialcare.data.replies import ReplyState, ReplyStore
from socialcare.models import Author, MentionKind, MentionStatus
from socialcare.singletons import forget_all
from tests.integration.conftest import Aws, Invoke
from tests.integration.dispatch_support import World, make_world, texts_to
from tests.integration.reply_support import ReplyWorld, make_reply_world, text_of

TWO_WAY = "+18005550199"
ANN, STRANGER = "+14155550101", "+14155550999"
CODE_LINE = re.compile(r"Reply ([A-Z0-9]{2,3}) and your answer")


class TextBackWorld:
    def __init__(self, aws: Aws, dispatch: World, replies: ReplyWorld, text_reply: Invoke) -> None:
        self.aws, self.dispatch, self.replies, self._text_reply = aws, dispatch, replies, text_reply
        self.topic_arn = aws.resolver.refs["InboundSmsTopic"]

    def alert(self, external_id: str, handle: str, now: datetime) -> tuple[str, str]:
        """A customer mention dispatched to Ann; returns (mention id, the code her text names)."""
        mention = self.dispatch.mention(external_id, now, author=Author(id=handle, handle=handle))
        self.dispatch.dispatcher.dispatch(mention.id, now)
        found = CODE_LINE.search(texts_to(ANN)[-1])
        assert found, texts_to(ANN)[-1]
        return mention.id, found.group(1)

    def text(self, body: str, sender: str = ANN, message_id: str | None = None) -> dict[str, Any]:
        payload = inbound_sms_payload(sender, TWO_WAY, body)
        if message_id:
            payload["inboundMessageId"] = message_id
        event = sns_event(
            self.topic_arn, f"{self.topic_arn}:sub", str(uuid.uuid4()), json.dumps(payload), None, {}
        )
        return self._text_reply(event)

    def posts(self) -> list[Any]:
        return [c for c in self.replies.simulator.calls if c.method == "POST" and c.path == "/2/tweets"]


@pytest.fixture
def world(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> TextBackWorld:
    monkeypatch.setenv("SMS_ORIGINATION_NUMBER", TWO_WAY)
    monkeypatch.setenv("SMS_VIA_SNS", "true")
    forget_all()
    dispatch = make_world(aws)
    dispatch.add_agent("Ann", ANN, at=datetime.now(UTC))
    replies = make_reply_world(aws, handlers, running_simulator, dev_config)
    return TextBackWorld(aws, dispatch, replies, handlers("TextReplyFunction"))


def test_an_alerts_code_answered_by_text_posts_once_and_confirms_with_undo(world: TextBackWorld) -> None:
    now = datetime.now(UTC)
    mention_id, code = world.alert("1850000000000000101", "jane", now)
    answered = world.text(f"{code.lower()}: On it, Jane!", message_id="in-1")
    assert answered == {"results": ["queued"]}
    world.replies.drain()
    assert [c.body["text"] for c in world.posts()] == ["On it, Jane!"]
    assert texts_to(ANN)[-1] == f"Posted to @jane on X. Reply UNDO {code} within 5 minutes to delete it."

    # SNS delivers at least once: the same inbound text again posts nothing more.
    assert world.text(f"{code.lower()}: On it, Jane!", message_id="in-1") == {"results": ["duplicate"]}
    world.replies.drain()
    assert len(world.posts()) == 1
    mention = world.aws.mention_store().get(mention_id)
    assert mention is not None and mention.status is MentionStatus.ANSWERED
    assert mention.first_response_seconds is not None
    (reply,) = ReplyStore(table(world.aws.table_name)).for_mention(mention_id)
    assert reply.via == "sms" and reply.state is ReplyState.SENT
    # The alert's link shows the answer, and how it was given.
    token = texts_to(ANN)[0].split("\n", 1)[0].rsplit("/r/", 1)[-1]  # the link is the first line
    page = text_of(world.replies.get(token))
    assert "Ann (by text)" in page and "On it, Jane!" in page

    # UNDO within five minutes deletes the post through the platform's API, and says so.
    assert world.text(f"UNDO {code}") == {"results": ["undone"]}
    deletes = [c for c in world.replies.simulator.calls if c.method == "DELETE"]
    assert [c.path for c in deletes] == [f"/2/tweets/{reply.platform_reply_id}"]
    assert texts_to(ANN)[-1].startswith(
        "Deleted your reply to @jane on X. Answer again: http://127.0.0.1:3000/r/"
    )
    # The customer has no answer again: the mention is the agent's to answer, and the page takes a new one.
    undone = world.aws.mention_store().get(mention_id)
    assert undone is not None and undone.status is MentionStatus.OPENED and undone.answered_at is None
    again = texts_to(ANN)[-1].rsplit("/r/", 1)[-1]
    assert world.replies.answer(again, "Sorry, I meant: your refund is on its way.")["statusCode"] == 200
    world.replies.drain()
    assert [c.body["text"] for c in world.posts()][-1] == "Sorry, I meant: your refund is on its way."


# Every spelling is read by split_code (tests/unit/test_text_back_parts.py); two of them go the whole way here
# ("a7: ..." does in the first test), each naming the second of two open alerts.
@pytest.mark.parametrize("written", ["#{code} On it!", "{code} - On it!"])
def test_the_code_names_the_alert_among_several(world: TextBackWorld, written: str) -> None:
    now = datetime.now(UTC)
    world.alert("1850000000000000201", "jane", now)
    _, code = world.alert("1850000000000000202", "bob", now)
    assert world.text(written.format(code=code, lower=code.lower())) == {"results": ["queued"]}
    world.replies.drain()
    (post,) = world.posts()
    assert post.body == {"text": "On it!", "reply": {"in_reply_to_tweet_id": "1850000000000000202"}}


def test_a_strangers_number_posts_nothing_and_gets_no_answer(world: TextBackWorld) -> None:
    _, code = world.alert("1850000000000000301", "jane", datetime.now(UTC))
    assert world.text(f"{code} Refund approved!", sender=STRANGER) == {"results": ["stranger"]}
    world.replies.drain()
    assert world.posts() == []
    assert texts_to(STRANGER) == []


def test_an_unknown_code_or_an_unclear_text_asks_which_one(world: TextBackWorld) -> None:
    now = datetime.now(UTC)
    _, first = world.alert("1850000000000000401", "jane", now)
    _, second = world.alert("1850000000000000402", "bob", now)
    unknown = "XX9"  # alerts' codes have two characters while the phone has fewer than 20 open
    assert world.text(f"#{unknown} On it") == {"results": ["which_one"]}
    assert texts_to(ANN)[-1].startswith(f"{unknown} is not one of your open alerts. Which one? ")
    assert f"{first} @jane (X)" in texts_to(ANN)[-1] and f"{second} @bob (X)" in texts_to(ANN)[-1]
    # No code and two alerts in the last two hours: which one?
    assert world.text("On it") == {"results": ["which_one"]}
    world.replies.drain()
    assert world.posts() == []


def test_without_a_code_the_one_recent_alert_is_meant(world: TextBackWorld) -> None:
    world.alert("1850000000000000501", "jane", datetime.now(UTC))
    assert world.text("On it!") == {"results": ["queued"]}
    world.replies.drain()
    assert [c.body["text"] for c in world.posts()] == ["On it!"]


def test_a_text_too_long_for_the_platform_is_refused_with_the_page_link(world: TextBackWorld) -> None:
    _, code = world.alert("1850000000000000601", "jane", datetime.now(UTC))
    assert world.text(f"{code} " + "x" * 300) == {"results": ["refused"]}
    refusal = texts_to(ANN)[-1]
    assert refusal.startswith(f"NOT posted ({code}): The reply is 300 characters; X takes at most 280.")
    assert "/r/" in refusal.rsplit("\n", 1)[-1]
    world.replies.drain()
    assert world.posts() == []


def test_undo_after_five_minutes_is_refused(world: TextBackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    _, code = world.alert("1850000000000000701", "jane", datetime.now(UTC))
    world.text(f"{code} On it!")
    world.replies.drain()
    from socialcare.replies import by_text as text_back

    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(text_back.get_text_back(), "now", lambda: later)
    assert world.text(f"undo {code}") == {"results": ["refused"]}
    assert texts_to(ANN)[-1] == f"Too late to undo {code} (5 minutes). Delete it on X directly."
    assert not [c for c in world.replies.simulator.calls if c.method == "DELETE"]


def test_stop_opts_the_agent_out_of_texts_and_alerts_go_by_email_only(world: TextBackWorld) -> None:
    assert world.text("STOP") == {"results": ["opted_out"]}
    record = AgentStore(table(world.aws.table_name)).get("ann@example.com")
    assert record is not None and record.agent.sms_opted_out
    before = len(texts_to(ANN))
    mention = world.dispatch.mention("1850000000000000801", datetime.now(UTC))
    outcome = world.dispatch.dispatcher.dispatch(mention.id, datetime.now(UTC))
    assert outcome.result == "assigned"
    assert len(texts_to(ANN)) == before  # no text; the email went out (the notice is complete)
    assert world.dispatch.dispatcher.store.notice(mention.id, 0).delivered_at is not None  # type: ignore[union-attr]
    assert world.text("START") == {"results": ["opted_in"]}
    assert world.text("HELP") == {"results": ["help"]}
    assert texts_to(ANN)[-1].startswith("Social Care: answer an alert by texting its code")


def test_a_confirmation_lost_with_its_sender_is_sent_on_redelivery(
    world: TextBackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcare.replies.sender import get_reply_sender

    _, code = world.alert("1850000000000000901", "jane", datetime.now(UTC))
    assert world.text(f"{code} On it!") == {"results": ["queued"]}
    notifier = get_reply_sender().notifier
    original = notifier.text_agent

    def sms_down(phone: str, message: str) -> None:
        raise OSError("SMS is down")

    monkeypatch.setattr(notifier, "text_agent", sms_down)
    world.replies.drain()
    assert len(world.posts()) == 1 and not texts_to(ANN)[-1].startswith("Posted")

    monkeypatch.setattr(notifier, "text_agent", original)
    (reply,) = world.replies.replies(world.dispatch.stored("x-1850000000000000901"))
    boto3.client("sqs").send_message(
        QueueUrl=world.replies.queue_url,
        MessageBody=json.dumps({"mention_id": reply.mention_id, "reply_id": reply.reply_id}),
    )
    world.replies.drain()
    assert len(world.posts()) == 1
    assert texts_to(ANN)[-1] == f"Posted to @jane on X. Reply UNDO {code} within 5 minutes to delete it."


GOOGLE_REVIEW = "accounts/1000/locations/2000/reviews/rUndo1"


@pytest.mark.parametrize(
    ("platform", "fields", "label", "deleted_path"),
    [
        ("threads", {"kind": MentionKind.COMMENT}, "Threads", "/threads-api/v1.0/{reply_id}"),
        (
            "google",
            {"kind": MentionKind.REVIEW, "raw": {"reply_refs": {"review": GOOGLE_REVIEW}}},
            "Google reviews",
            f"/google-api/v4/{GOOGLE_REVIEW}/reply",
        ),
    ],
)
def test_undo_deletes_a_threads_post_or_a_review_reply_through_its_adapter(
    world: TextBackWorld, platform: str, fields: dict[str, Any], label: str, deleted_path: str
) -> None:
    now = datetime.now(UTC)
    external_id = "18051000000000001" if platform == "threads" else "rUndo1"
    author = Author(id="kim", handle="kim")
    mention = world.dispatch.mention(external_id, now, platform=platform, author=author, **fields)
    world.dispatch.dispatcher.dispatch(mention.id, now)
    code = CODE_LINE.search(texts_to(ANN)[-1]).group(1)  # type: ignore[union-attr]
    assert world.text(f"{code} Sorry Kim, fixed!") == {"results": ["queued"]}
    world.replies.drain()
    assert texts_to(ANN)[-1] == f"Posted to @kim on {label}. Reply UNDO {code} within 5 minutes to delete it."
    (reply,) = ReplyStore(table(world.aws.table_name)).for_mention(mention.id)

    assert world.text(f"UNDO {code}") == {"results": ["undone"]}

    deletes = [c for c in world.replies.simulator.calls if c.method == "DELETE"]
    assert [(c.path, c.status) for c in deletes] == [
        (deleted_path.format(reply_id=reply.platform_reply_id), 200)
    ]
    assert texts_to(ANN)[-1].startswith(f"Deleted your reply to @kim on {label}. Answer again: ")
    undone = world.aws.mention_store().get(mention.id)
    assert undone is not None and undone.answered_at is None


def test_undo_on_a_platform_that_cannot_delete_says_so_and_calls_nothing(world: TextBackWorld) -> None:
    now = datetime.now(UTC)
    mention = world.dispatch.mention(
        "https://blogs.example/9", now, platform="blogs", kind=MentionKind.REVIEW, author=Author(id="bea")
    )
    world.dispatch.dispatcher.dispatch(mention.id, now)
    code = CODE_LINE.search(texts_to(ANN)[-1]).group(1)  # type: ignore[union-attr]
    assert world.text(f"{code} Answered under the post") == {"results": ["queued"]}
    world.replies.drain()
    confirmed = texts_to(ANN)[-1]
    assert (
        confirmed.endswith("on Blogs. Blogs does not allow deleting it from here.")
        and "UNDO" not in confirmed
    )

    assert world.text(f"UNDO {code}") == {"results": ["refused"]}
    assert texts_to(ANN)[-1] == f"Blogs does not allow deleting your reply for {code}: it stays on Blogs."
    assert [c for c in world.replies.simulator.calls if c.method == "DELETE"] == []


@pytest.fixture
def with_bluesky(dev_config: dict[str, Any]) -> None:
    """Bluesky configured (the dev configuration leaves it off); requested before `world`, which stores it."""
    dev_config["bluesky"] = {
        "handle": "brand.bsky.social",
        "app_password": "dev",
        "service": "http://127.0.0.1:4000",
    }


def test_undo_deletes_a_bluesky_post_from_the_brands_repo(with_bluesky: None, world: TextBackWorld) -> None:
    now = datetime.now(UTC)
    uri = "at://did:plc:carol/app.bsky.feed.post/3lundo1"
    refs = {"uri": uri, "cid": "bafy1", "root_uri": uri, "root_cid": "bafy1"}
    mention = world.dispatch.mention(
        uri, now, platform="bluesky", author=Author(id="did:plc:carol", handle="carol.bsky.social"),
        raw={"reply_refs": refs},
    )  # fmt: skip
    world.dispatch.dispatcher.dispatch(mention.id, now)
    code = CODE_LINE.search(texts_to(ANN)[-1]).group(1)  # type: ignore[union-attr]
    assert world.text(f"{code} On its way, Carol") == {"results": ["queued"]}
    world.replies.drain()
    assert f"Reply UNDO {code}" in texts_to(ANN)[-1]
    (reply,) = ReplyStore(table(world.aws.table_name)).for_mention(mention.id)

    assert world.text(f"UNDO {code}") == {"results": ["undone"]}

    (deleted,) = [c for c in world.replies.simulator.calls if c.path.endswith("deleteRecord")]
    repo, _, rkey = reply.platform_reply_id.removeprefix("at://").partition("/app.bsky.feed.post/")
    assert deleted.status == 200
    assert deleted.body == {"repo": repo, "collection": "app.bsky.feed.post", "rkey": rkey}
    assert texts_to(ANN)[-1].startswith("Deleted your reply to @carol.bsky.social on Bluesky.")
