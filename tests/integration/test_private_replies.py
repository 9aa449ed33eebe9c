"""Taking a public mention private, in-process against moto and the platform simulator: "Reply privately"
on the reply page where the adapter allows it; a Facebook comment's private reply is one POST
/{page-id}/messages with the comment's id, its public line a comment; a second private reply to the same
comment is refused by the page (a conditional write) before it reaches the platform; an X DM the author's
closed DMs refuse is told to the agent and not retried."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.simulator.server import PlatformSimulator
from socialcare.data.replies import ReplyState
from socialcare.models import MentionKind, MentionStatus
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import (
    ALICE,
    BOB,
    ReplyWorld,
    customer_mention,
    make_reply_world,
    nonce_of,
    text_of,
)

pytestmark = pytest.mark.integration

PAGE_MESSAGES = "/2000000001/messages"  # the development configuration's Page id


@pytest.fixture
def world(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> ReplyWorld:
    return make_reply_world(aws, handlers, running_simulator, dev_config, ALICE, BOB)


def facebook_comment(world: ReplyWorld, **extra: Any) -> Any:
    comment = customer_mention("111_222", platform="facebook", kind=MentionKind.COMMENT, url=None, **extra)
    return world.assigned(comment, ALICE, BOB)


def test_a_facebook_comment_answered_privately_is_one_private_reply_and_its_public_line(
    world: ReplyWorld,
) -> None:
    mention = facebook_comment(world)
    page = world.get(world.link(mention, ALICE))
    assert "Reply privately (private reply" in text_of(page)

    sent = world.answer(
        world.link(mention, ALICE),
        "Sorry! Your order number, please?",
        private="yes",
        public_line="We've sent you a message.",
    )
    assert sent["statusCode"] == 200, sent["body"]
    world.drain()

    (private,) = world.simulator.calls_to(PAGE_MESSAGES)
    assert private.body["recipient"] == {"comment_id": "111_222"}
    assert private.body["message"] == {"text": "Sorry! Your order number, please?"}
    (public,) = world.simulator.calls_to("/111_222/comments")
    assert public.body["message"] == "We've sent you a message."
    (reply,) = world.replies(mention)
    assert reply.state is ReplyState.SENT and reply.private
    assert reply.platform_reply_id == private.answer["message_id"]
    assert reply.public_line_id == public.answer["id"], "the mention's reply records both"
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ANSWERED


def test_a_second_private_reply_to_the_same_comment_is_refused_by_the_page(world: ReplyWorld) -> None:
    mention = facebook_comment(world)
    bob_token = world.link(mention, BOB)
    bob_nonce = nonce_of(world.get(bob_token))
    assert world.answer(world.link(mention, ALICE), "Alice, privately.", private="yes")["statusCode"] == 200
    world.drain()
    assert len(world.simulator.calls_to(PAGE_MESSAGES)) == 1

    refused = world.post(
        bob_token,
        {"nonce": bob_nonce, "text": "Bob, privately too.", "private": "yes", "confirm_second": "yes"},
    )

    assert refused["statusCode"] == 409
    assert "answered privately already" in text_of(refused)
    assert "Bob, privately too." in text_of(refused), "the draft is kept"
    assert [r.agent_email for r in world.replies(mention)] == [ALICE.email]
    world.drain()
    assert len(world.simulator.calls_to(PAGE_MESSAGES)) == 1, "nothing more reached the platform"
    # The link is not used up: Bob can still answer publicly.
    public = world.post(
        bob_token, {"nonce": nonce_of(refused), "text": "Bob, in public.", "confirm_second": "yes"}
    )
    assert public["statusCode"] == 200, public["body"]


def test_an_x_dm_refused_because_dms_are_closed_is_told_to_the_agent_and_not_retried(
    world: ReplyWorld,
) -> None:
    mention = world.assigned(customer_mention(), ALICE)
    assert "Reply privately (direct message" in text_of(world.get(world.link(mention, ALICE)))
    closed = {"title": "Forbidden", "detail": "You cannot send messages to this user.", "type": "about:blank"}
    world.refuse(1, 403, json_body=closed)

    assert world.answer(world.link(mention, ALICE), "DM us?", private="yes")["statusCode"] == 200
    world.drain()
    world.time_passes()
    world.drain()

    (dm,) = world.simulator.calls_to("/2/dm_conversations/with/")
    assert dm.path == "/2/dm_conversations/with/42/messages"
    assert world.simulator.calls_to("/2/tweets") == [], "no public post instead"
    (reply,) = world.replies(mention)
    assert reply.state is ReplyState.FAILED and "cannot send messages" in (reply.failure_reason or "")
    assert any(phone == ALICE.phone and "cannot send messages" in text for phone, text in world.sms())


@pytest.mark.parametrize(
    "mention",
    [
        customer_mention("dm-1", kind=MentionKind.DIRECT_MESSAGE),
        customer_mention(
            "111_333",
            platform="facebook",
            kind=MentionKind.COMMENT,
            url=None,
            created_at=datetime.now(UTC) - timedelta(days=8),
        ),
    ],
    ids=["a-dm", "a-comment-older-than-7-days"],
)
def test_no_private_reply_where_the_platform_allows_none(world: ReplyWorld, mention: Any) -> None:
    stored = world.assigned(mention, ALICE)
    token = world.link(stored, ALICE)
    page = world.get(token)
    assert 'name="text"' in page["body"] and 'name="private"' not in page["body"]

    forced = world.post(token, {"nonce": nonce_of(page), "text": "Hi", "private": "yes"})

    assert forced["statusCode"] == 422
    assert "cannot be answered privately" in text_of(forced)
    assert world.replies(stored) == []
