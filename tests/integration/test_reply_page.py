"""The reply page through its Lambda handler, with moto holding the table and the queue: what an agent sees
on GET, what POST does with the reply, and every refusal (unknown, expired, cross-site, forged form)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.simulator.server import PlatformSimulator
from socialcare.data.replies import ReplyState
from socialcare.data.tokens import TokenStore
from socialcare.models import MentionKind, MentionStatus
from socialcare.platforms.x.rules import POST_LIMIT as X_POST_LIMIT
from tests.integration.conftest import Aws, Invoke, http_event
from tests.integration.reply_support import (
    ALICE,
    BOB,
    HOST,
    ReplyWorld,
    customer_mention,
    make_reply_world,
    nonce_of,
    text_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> ReplyWorld:
    return make_reply_world(aws, handlers, running_simulator, dev_config, ALICE, BOB)


def queued(world: ReplyWorld) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=world.queue_url, AttributeNames=["All"])["Attributes"]
    count = int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
    messages = sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    assert len(messages) == count
    return [json.loads(m["Body"]) for m in messages]


# ---------------------------------------------------------------- GET
def test_the_form_shows_the_mention_and_changes_nothing(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(text="@brand my order #123 is late"), ALICE, BOB)
    token = world.link(mention, ALICE)

    page = world.get(token)

    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page["headers"]["Content-Security-Policy"]
    assert page["headers"]["Cache-Control"] == "no-store"
    assert page["headers"]["Referrer-Policy"] == "no-referrer"
    text = text_of(page)
    assert "Reply to Carol Customer (@carol) on X" in text
    assert "@brand my order #123 is late" in text
    assert 'href="https://x.com/carol/status/1850000000000000001"' in page["body"]
    assert "Also sent to: Bob Builder" in text
    assert 'id="on-it"' in page["body"]
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None
    assert stored.status is MentionStatus.ASSIGNED and stored.opened_at is None, "a GET is not a person"
    item = world.table.get_item(Key={"pk": f"MENTION#{mention.id}", "sk": "MENTION"})["Item"]
    assert item["gsi2pk"] == "PENDING", "it keeps escalating"
    link = TokenStore(world.table).find(token)
    assert link is not None and link.used_at is None, "a GET never uses up the link"
    assert world.get(token)["statusCode"] == 200, "a link scanner's visit leaves the link working"


def test_im_on_it_marks_the_mention_opened_until_its_answer_deadline(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE, BOB)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))

    page = world.post(token, {"nonce": nonce, "action": "on_it"})

    assert page["statusCode"] == 200 and "You are on it." in text_of(page)
    assert 'id="on-it"' not in page["body"] and 'name="text"' in page["body"]
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.OPENED
    assert stored.opened_by == ALICE.email and stored.opened_at is not None
    item = world.table.get_item(Key={"pk": f"MENTION#{mention.id}", "sk": "MENTION"})["Item"]
    due = datetime.fromisoformat(item["gsi2sk"])
    assert item["gsi2pk"] == "PENDING" and due - stored.opened_at == timedelta(minutes=60)
    link = TokenStore(world.table).find(token)
    assert link is not None and link.used_at is None, "saying so does not use the link"
    # Bob sees who is on it; a second "I'm on it" changes nothing.
    bob = world.link(mention, BOB)
    assert "Alice Agent is on it." in text_of(world.get(bob))
    world.post(bob, {"nonce": nonce_of(world.get(bob)), "action": "on_it"})
    again = world.aws.mention_store().get(mention.id)
    assert again is not None and again.opened_by == ALICE.email


def test_im_on_it_needs_the_pages_nonce_and_origin(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))
    assert world.post(token, {"nonce": "1.guess", "action": "on_it"})["statusCode"] == 403
    cross = world.post(token, {"nonce": nonce, "action": "on_it"}, headers={"sec-fetch-site": "cross-site"})
    assert cross["statusCode"] == 403
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ASSIGNED


def test_a_prefetch_does_not_count_as_opening(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    page = world.get(world.link(mention, ALICE), headers={"sec-purpose": "prefetch"})
    assert page["statusCode"] == 200
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ASSIGNED


def test_the_conversation_so_far_is_on_the_page(world: ReplyWorld) -> None:
    store = world.aws.mention_store()
    earlier = datetime.now(UTC) - timedelta(hours=1)
    thread = {"thread_key": "100", "conversation_id": "x:100"}
    assert store.put_if_new(
        customer_mention("100", text="first: where is my parcel?", created_at=earlier, **thread)
    )
    ours = customer_mention(
        "101",
        text="Sorry Carol! Checking now.",
        created_at=earlier + timedelta(minutes=5),
        in_reply_to="100",
        **thread,
    ).model_copy(update={"is_ours": True, "status": MentionStatus.OURS})
    assert store.put_if_new(ours)
    mention = world.assigned(
        customer_mention("102", text="still nothing", in_reply_to="101", **thread), ALICE
    )

    text = text_of(world.get(world.link(mention, ALICE)))

    assert "Earlier in the conversation" in text
    assert text.index("first: where is my parcel?") < text.index("Sorry Carol! Checking now.")
    assert text.index("Sorry Carol! Checking now.") < text.index("still nothing")


def test_unknown_and_tampered_links_are_404(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for candidate in ("nope", tampered):
        page = world.get(candidate)
        assert page["statusCode"] == 404
        assert "Link not found" in text_of(page)
        assert world.post(candidate, {"nonce": "1.x", "text": "hi"})["statusCode"] == 404


def test_an_expired_link_is_410_for_get_and_post(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE, now=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1))
    page = world.get(token)
    assert page["statusCode"] == 410 and "This link has expired" in text_of(page)
    assert world.post(token, {"nonce": "1.x", "text": "hi"})["statusCode"] == 410
    assert world.replies(mention) == []


def test_everything_a_stranger_wrote_is_escaped(world: ReplyWorld) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    mention = customer_mention(text=f"hi {payload}", handle="evil<b>", url="javascript:alert(1)")
    mention = mention.model_copy(update={"author": mention.author.model_copy(update={"name": payload})})
    mention = world.assigned(mention, ALICE)

    page = world.get(world.link(mention, ALICE))

    body = page["body"]
    assert page["statusCode"] == 200
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert 'href="javascript:' not in body
    assert body.count("<script>") == 1, "only the page's own counter script (allowed by its hash)"


# ---------------------------------------------------------------- POST
def test_a_reply_is_queued_once_and_the_link_is_used_up(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    page = world.get(token)

    # The page's own form post: same-origin, and Origin: null because the page sends no referrer.
    sent = world.post(
        token, {"nonce": nonce_of(page), "text": "Hi Carol,\r\nso sorry! DM us."}, {"origin": "null"}
    )

    assert sent["statusCode"] == 200, sent["body"]
    assert "Reply sent" in text_of(sent) and "On its way to X" in text_of(sent)
    (reply,) = world.replies(mention)
    assert reply.state is ReplyState.PENDING
    assert reply.text == "Hi Carol,\nso sorry! DM us."
    assert (reply.agent_email, reply.agent_name, reply.agent_phone) == (ALICE.email, ALICE.name, ALICE.phone)
    assert queued(world) == [{"mention_id": mention.id, "reply_id": reply.reply_id}]
    link = TokenStore(world.table).find(token)
    assert link is not None and link.used_at is not None and link.reply_id == reply.reply_id
    assert world.simulator.calls == [], "the page only queues; the sender posts"


def test_a_used_link_shows_the_reply_and_posts_nothing_more(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    page = world.get(token)
    nonce = nonce_of(page)
    assert world.post(token, {"nonce": nonce, "text": "On it!"})["statusCode"] == 200
    world.drain()
    assert len(world.simulator.calls) == 1

    again = world.get(token)
    assert again["statusCode"] == 200
    text = text_of(again)
    assert "Already answered" in text and "Alice Agent replied" in text and "On it!" in text
    assert 'name="nonce"' not in again["body"], "no form on a used link"

    resent = world.post(token, {"nonce": nonce, "text": "On it, again!"})
    assert resent["statusCode"] == 200 and "Already answered" in text_of(resent)
    world.drain()
    assert len(world.simulator.calls) == 1
    assert [r.text for r in world.replies(mention)] == ["On it!"]


def test_a_double_submit_queues_one_reply(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))
    first = world.post(token, {"nonce": nonce, "text": "Hello!"})
    second = world.post(token, {"nonce": nonce, "text": "Hello!"})
    assert first["statusCode"] == second["statusCode"] == 200
    assert len(world.replies(mention)) == 1
    assert len(queued(world)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "", "origin": "https://evil.example"},
    ],
    ids=["cross-site", "same-site", "foreign-origin"],
)
def test_a_cross_site_post_is_refused(world: ReplyWorld, headers: dict[str, str]) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))
    refused = world.post(token, {"nonce": nonce, "text": "hi"}, headers)
    assert refused["statusCode"] == 403
    assert world.replies(mention) == [] and queued(world) == []
    link = TokenStore(world.table).find(token)
    assert link is not None and link.used_at is None


def test_an_origin_matching_the_host_is_accepted_without_fetch_metadata(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))
    headers = {"sec-fetch-site": "", "origin": "http://127.0.0.1:3000"}
    assert world.post(token, {"nonce": nonce, "text": "hi"}, headers)["statusCode"] == 200


def test_a_bad_nonce_is_refused(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    other_token = world.link(mention, BOB)
    real = nonce_of(world.get(token))
    rendered_at, mac = real.split(".")
    forged = [
        "",
        "garbage",
        f"{int(rendered_at) + 1}.{mac}",  # the render time is signed
        f"{rendered_at}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        nonce_of(world.get(other_token)),  # another link's nonce
    ]
    for nonce in forged:
        refused = world.post(token, {"nonce": nonce, "text": "hi"})
        assert refused["statusCode"] == 403, nonce
        assert "out of date" in text_of(refused)
    assert world.replies(mention) == []
    assert world.post(token, {"nonce": real, "text": "hi"})["statusCode"] == 200


def test_empty_and_over_length_replies_come_back_with_the_text_kept(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(kind=MentionKind.POST), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))

    empty = world.post(token, {"nonce": nonce, "text": "  \r\n "})
    assert empty["statusCode"] == 422 and "Write a reply before sending." in text_of(empty)

    long_text = "Sorry <Carol> & thanks " + "x" * X_POST_LIMIT
    too_long = world.post(token, {"nonce": nonce, "text": long_text})
    assert too_long["statusCode"] == 422
    assert "X takes at most 280" in text_of(too_long)
    assert "\nSorry &lt;Carol&gt; &amp; thanks " + "x" * X_POST_LIMIT + "</textarea>" in too_long["body"]
    assert world.replies(mention) == [] and queued(world) == []

    # The re-rendered form works as it is.
    fixed = world.post(token, {"nonce": nonce_of(too_long), "text": "Sorry Carol, we're on it."})
    assert fixed["statusCode"] == 200


def test_a_reply_to_a_deleted_mention_is_refused(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))
    assert world.aws.mention_store().transition(mention.id, set_fields={"status": MentionStatus.DELETED})
    page = world.post(token, {"nonce": nonce, "text": "hello?"})
    assert page["statusCode"] == 422 and "deleted" in text_of(page)
    assert world.replies(mention) == []


def test_a_second_reply_needs_confirming(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE, BOB)
    alice_token, bob_token = world.link(mention, ALICE), world.link(mention, BOB)
    bob_nonce = nonce_of(world.get(bob_token))
    assert world.answer(alice_token, "Alice here: refund sent.")["statusCode"] == 200

    asked = world.post(bob_token, {"nonce": bob_nonce, "text": "Bob here: refund sent!"})

    assert asked["statusCode"] == 409
    text = text_of(asked)
    assert "Alice Agent answered meanwhile" in text
    assert "Alice here: refund sent." in text, "the other agent's reply is shown"
    assert 'name="confirm_second"' in asked["body"]
    assert "Bob here: refund sent!" in text, "the draft is kept"
    assert len(world.replies(mention)) == 1

    # The page opened after Alice's reply shows it too.
    assert "Alice here: refund sent." in text_of(world.get(bob_token))

    confirmed = world.post(
        bob_token, {"nonce": nonce_of(asked), "text": "Bob here: refund sent!", "confirm_second": "yes"}
    )
    assert confirmed["statusCode"] == 200
    assert [r.agent_email for r in world.replies(mention)] == [ALICE.email, BOB.email]


def test_a_reply_of_only_invisible_characters_is_refused(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(kind=MentionKind.POST), ALICE)
    token = world.link(mention, ALICE)
    page = world.post(token, {"nonce": nonce_of(world.get(token)), "text": "\u200b\u200b\u2060\u200b"})
    assert page["statusCode"] == 422 and "nothing visible" in text_of(page)
    assert world.replies(mention) == [] and queued(world) == []


def test_a_form_that_is_not_utf8_is_400_not_replacement_characters(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    body = f"nonce={nonce_of(world.get(token))}&text=%ff%fe".encode()
    headers = {
        "host": HOST,
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "same-origin",
    }
    page = world.page(http_event("POST", f"/r/{token}", body=body, headers=headers))
    assert page["statusCode"] == 400
    assert world.replies(mention) == [] and queued(world) == []


def test_a_post_that_is_not_a_form_is_refused(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    page = world.post(token, {"text": "hi"}, {"content-type": "application/json"})
    assert page["statusCode"] == 400
    assert page["headers"]["X-Frame-Options"] == "DENY"


def test_a_reply_that_was_stored_but_never_queued_is_queued_when_the_agent_sends_again(
    world: ReplyWorld,
) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    token = world.link(mention, ALICE)
    nonce = nonce_of(world.get(token))
    assert world.post(token, {"nonce": nonce, "text": "Hello!"})["statusCode"] == 200
    # As if that POST had died after storing the reply: the message is lost, and time has passed.
    boto3.client("sqs").purge_queue(QueueUrl=world.queue_url)
    (reply,) = world.replies(mention)
    world.table.update_item(
        Key={"pk": f"REPLY#{mention.id}", "sk": f"REPLY#{reply.reply_id}"},
        UpdateExpression="SET created_at = :then",
        ExpressionAttributeValues={":then": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()},
    )

    again = world.post(token, {"nonce": nonce, "text": "Hello!"})

    assert again["statusCode"] == 200 and "on its way" in text_of(again)
    assert queued(world) == [{"mention_id": mention.id, "reply_id": reply.reply_id}]
    world.drain()
    assert len(world.simulator.calls) == 1


def test_a_failed_reply_of_another_agent_needs_no_confirming(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(), ALICE, BOB)
    alice_token, bob_token = world.link(mention, ALICE), world.link(mention, BOB)
    bob_nonce = nonce_of(world.get(bob_token))
    assert world.answer(alice_token, "Alice here: refund sent.")["statusCode"] == 200
    world.refuse(1, 404, json_body={"title": "Not Found Error", "detail": "the post was deleted"})
    world.drain()
    assert [r.state for r in world.replies(mention)] == [ReplyState.FAILED]

    sent = world.post(bob_token, {"nonce": bob_nonce, "text": "Bob here: refund sent!"})

    assert sent["statusCode"] == 200, text_of(sent)
    assert [r.agent_email for r in world.replies(mention)] == [ALICE.email, BOB.email]
