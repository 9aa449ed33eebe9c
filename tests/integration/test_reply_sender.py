"""The reply sender through its Lambda handler, fed from the reply queue the way Lambda's SQS event source
feeds it, posting to the platform simulator: every way a post can fail, and that each reply goes out once."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.simulator.server import PlatformSimulator
from socialcare.data.agents import agent_id_for
from socialcare.data.replies import Reply, ReplyState
from socialcare.models import Mention, MentionKind, MentionStatus
from socialcare.platforms.x.payloads import tweet
from socialcare.replies.sender import BASE_BACKOFF_S, MAX_ATTEMPTS, get_reply_sender
from tests.conftest import tweet_delivery, x_signature
from tests.integration.conftest import Aws, Invoke, http_event, json_of
from tests.integration.reply_support import (
    ALICE,
    BOB,
    LEAD,
    ReplyWorld,
    customer_mention,
    make_reply_world,
    nonce_of,
    text_of,
)

pytestmark = pytest.mark.integration

CREATED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
BRAND_X_ID = "1000000001"  # infra/dev-config.json x.brand_user_id


@pytest.fixture
def world(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> ReplyWorld:
    world = make_reply_world(aws, handlers, running_simulator, dev_config, ALICE, BOB, LEAD)
    world.x_webhook = handlers("XWebhookFunction")
    return world


def send_x(world: ReplyWorld, event: dict[str, Any]) -> dict[str, Any]:
    assert world.x_webhook is not None
    return world.x_webhook(event)


def queue_reply(
    world: ReplyWorld, mention: Mention, text: str = "Sorry Carol, a new parcel is on its way."
) -> Reply:
    assigned = world.assigned(mention, ALICE)
    answer = world.answer(world.link(assigned, ALICE), text)
    assert answer["statusCode"] == 200, answer["body"]
    (reply,) = world.replies(assigned)
    return reply


def only_reply(world: ReplyWorld, mention: Mention) -> Reply:
    (reply,) = world.replies(mention)
    return reply


def our_mentions(world: ReplyWorld, mention: Mention) -> list[Mention]:
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.conversation_id
    return [m for m in world.aws.mention_store().conversation(stored.conversation_id) if m.is_ours]


def assert_sent_once(world: ReplyWorld, mention: Mention, text: str) -> Reply:
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.SENT, reply
    assert reply.platform_reply_id and reply.sent_at is not None
    (ours,) = our_mentions(world, mention)
    assert ours.external_id == reply.platform_reply_id
    assert ours.text == text and ours.status is MentionStatus.OURS
    assert ours.raw["reply_id"] == reply.reply_id
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None
    assert stored.status is MentionStatus.ANSWERED
    assert stored.answered_by == ALICE.email and stored.answered_at == reply.sent_at
    assert stored.first_response_seconds == int((reply.sent_at - CREATED).total_seconds())
    assert world._hidden_messages() == [] and world.drain() == [], "nothing left on the queue"
    return reply


# ---------------------------------------------------------------- success
def test_an_x_reply_is_posted_once_and_recorded_as_ours(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    text = "Sorry Carol, a new parcel is on its way."
    queue_reply(world, mention, text)

    world.drain()

    (call,) = world.simulator.calls
    assert call.path == "/2/tweets"
    assert call.headers["authorization"] == "Bearer dev-x-bearer-token"
    assert call.body == {"text": text, "reply": {"in_reply_to_tweet_id": mention.external_id}}
    reply = assert_sent_once(world, mention, text)

    # X's webhook echoes our post: it is ours already, so it is not stored again, and nobody is notified.
    echo = tweet_delivery(
        tweet(
            tweet_id=reply.platform_reply_id or "",
            text=f"@carol {text}",
            user_id=BRAND_X_ID,
            screen_name="brand",
            in_reply_to_status_id_str=mention.external_id,
        )
    )
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(echo)}
    answer = send_x(world, http_event("POST", "/webhooks/x", echo, headers))
    assert answer["statusCode"] == 200 and json_of(answer)["stored"] == 0
    assert len(our_mentions(world, mention)) == 1


@pytest.mark.parametrize(
    ("mention", "path", "body"),
    [
        (
            customer_mention("111_222", platform="facebook", kind=MentionKind.COMMENT, created_at=CREATED),
            "/v21.0/111_222/comments",
            {"message": "Thanks!"},
        ),
        (
            customer_mention("review-7", platform="reviews", kind=MentionKind.REVIEW, created_at=CREATED),
            "/sources/reviews/replies",
            {"type": "reply.created"},
        ),
    ],
    ids=["facebook-comment", "review-source"],
)
def test_other_platforms_get_their_own_request(
    world: ReplyWorld, mention: Mention, path: str, body: dict[str, Any]
) -> None:
    queue_reply(world, mention, "Thanks!")
    world.drain()
    (call,) = world.simulator.calls
    assert call.path == path
    assert body.items() <= call.body.items()
    assert_sent_once(world, mention, "Thanks!")


# ---------------------------------------------------------------- temporary failures
def test_rate_limited_twice_then_posted_once_with_the_platform_s_wait(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    queue_reply(world, mention, "Hello!")
    reset = str(int(datetime.now(UTC).timestamp()) + 120)
    world.refuse(2, 429, headers={"x-rate-limit-reset": reset, "x-rate-limit-remaining": "0"})

    for attempt in (1, 2):
        (answer,) = world.drain()
        assert len(answer["batchItemFailures"]) == 1, "reported failed: the message comes back"
        (delay,) = world.hidden_delays()
        assert 115 <= delay <= 127, "it waits for X's rate-limit reset, not a tight loop"
        reply = only_reply(world, mention)
        assert reply.state is ReplyState.PENDING and reply.attempts == attempt
        assert reply.last_error and "rate limited" in reply.last_error
        assert world.drain() == [], "nothing to receive until the wait is over"
        assert world.time_passes() == 1

    world.drain()
    assert len(world.simulator.calls) == 3 and world.accepted() == 1
    assert_sent_once(world, mention, "Hello!")


def test_a_server_error_is_retried_with_backoff_then_posted_once(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    queue_reply(world, mention, "Hello!")
    world.refuse(1, 500)

    world.drain()
    (delay,) = world.hidden_delays()
    assert BASE_BACKOFF_S / 2 - 1 <= delay <= BASE_BACKOFF_S + 1
    world.time_passes()
    world.drain()

    assert world.accepted() == 1
    assert_sent_once(world, mention, "Hello!")


def test_backoff_grows_and_the_sender_gives_up_before_the_dead_letter_queue(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    queue_reply(world, mention, "Hello!")
    world.refuse(MAX_ATTEMPTS + 5, 503)

    ceilings = []
    for _ in range(MAX_ATTEMPTS - 1):
        world.drain()
        (delay,) = world.hidden_delays()
        ceilings.append(delay)
        world.time_passes()
    world.drain()

    assert len(world.simulator.calls) == MAX_ATTEMPTS
    for attempt, delay in enumerate(ceilings, start=1):
        ceiling = min(900, BASE_BACKOFF_S * 2 ** (attempt - 1))
        assert ceiling / 2 - 1 <= delay <= ceiling + 1, (attempt, delay)
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.FAILED and reply.failure_code == "gave_up"
    assert reply.failure_reason and f"after {MAX_ATTEMPTS} attempts" in reply.failure_reason
    ((phone, message),) = world.sms()
    assert phone == ALICE.phone and "NOT posted on X" in message
    assert world.topic_messages() == [], "an outage is not the leads' configuration to fix"
    assert world._hidden_messages() == []


def posts(world: ReplyWorld) -> list[Any]:
    return [call for call in world.simulator.calls if call.method == "POST"]


def time_out_a_post_that_lands(world: ReplyWorld, mention: Mention, text: str) -> str:
    """The first post lands on the platform but answers after the sender's read timeout; returns the id
    the platform gave it, once it has (the positive signal that it landed)."""
    queue_reply(world, mention, text)
    get_reply_sender().timeout = (1.0, 0.3)
    world.simulator.delay_next(1.0)
    world.drain()
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.PENDING and reply.maybe_delivered_since is not None
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while posts(world)[0].answer is None:
        assert datetime.now(UTC) < deadline, "the simulator never answered the late post"
        time.sleep(0.05)
    return str(posts(world)[0].answer["data"]["id"])


def test_a_timed_out_post_that_landed_is_found_by_the_look_up_and_not_posted_again(
    world: ReplyWorld,
) -> None:
    mention = customer_mention(created_at=CREATED)
    landed = time_out_a_post_that_lands(world, mention, "Hello!")
    world.time_passes()
    world.drain()

    assert len(posts(world)) == 1, "asked X, did not post again"
    (look_up,) = [call for call in world.simulator.calls if call.method == "GET"]
    assert look_up.path == f"/2/users/{BRAND_X_ID}/tweets"
    reply = assert_sent_once(world, mention, "Hello!")
    assert reply.platform_reply_id == landed and reply.sent_via == "lookup"


def test_while_the_look_up_fails_the_sender_waits_for_the_echo(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    landed = time_out_a_post_that_lands(world, mention, "Hello Carol!")
    world.simulator.fail_next(1, 503)  # X cannot answer the look-up
    world.time_passes()
    world.drain()

    reply = only_reply(world, mention)
    assert reply.state is ReplyState.PENDING and "waiting for the platform's echo" in (reply.last_error or "")
    (delay,) = world.hidden_delays()
    assert 25 <= delay <= 35
    echo = tweet_delivery(
        tweet(
            tweet_id=landed,
            text="@carol Hello Carol!",
            user_id=BRAND_X_ID,
            screen_name="brand",
            in_reply_to_status_id_str=mention.external_id,
        )
    )
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(echo)}
    assert send_x(world, http_event("POST", "/webhooks/x", echo, headers))["statusCode"] == 200
    world.time_passes()
    world.drain()

    assert len(posts(world)) == 1
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.SENT and reply.platform_reply_id == landed and reply.sent_via == "echo"


def test_when_no_echo_comes_in_time_the_reply_is_posted_again(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    time_out_a_post_that_lands(world, mention, "Hello!")
    world.simulator.fail_next(1, 503)
    later = datetime.now(UTC) + timedelta(minutes=3)  # past ECHO_WAIT
    get_reply_sender().now = lambda: later
    world.time_passes()
    world.drain()

    assert len(posts(world)) == 2, "the only choice left"
    assert only_reply(world, mention).sent_via == "posted_after_echo_wait"


def test_a_timed_out_post_whose_echo_arrived_is_not_posted_again(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    text = "Hello Carol!"
    queue_reply(world, mention, text)
    get_reply_sender().timeout = (1.0, 0.3)
    world.simulator.delay_next(1.5)
    world.drain()
    assert len(world.simulator.calls) == 1

    # The post went out after all: X's webhook brings our own tweet, with the @handle X puts in front.
    echo = tweet_delivery(
        tweet(
            tweet_id="1860000000000000009",
            text=f"@carol {text}",
            user_id=BRAND_X_ID,
            screen_name="brand",
            in_reply_to_status_id_str=mention.external_id,
        )
    )
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(echo)}
    assert send_x(world, http_event("POST", "/webhooks/x", echo, headers))["statusCode"] == 200
    world.time_passes()
    world.drain()

    assert len(world.simulator.calls) == 1, "not posted a second time"
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.SENT and reply.platform_reply_id == "1860000000000000009"
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ANSWERED


# ---------------------------------------------------------------- permanent failures
def test_a_dead_meta_token_fails_the_reply_texts_the_agent_and_alerts_the_leads(world: ReplyWorld) -> None:
    mention = customer_mention("111_222", platform="facebook", kind=MentionKind.COMMENT, created_at=CREATED)
    queue_reply(world, mention, "Thanks!")
    error = {"message": "Error validating access token", "type": "OAuthException", "code": 190}
    world.refuse(1, 400, json_body={"error": error})

    (answer,) = world.drain()

    assert answer["batchItemFailures"] == [], "done with: not retried"
    assert len(world.simulator.calls) == 1 and world._hidden_messages() == []
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.FAILED and reply.failure_code == "meta_invalid_token"
    assert reply.agent_notified_at is not None and reply.leads_alerted_at is not None
    ((phone, sms),) = world.sms()
    assert phone == ALICE.phone
    assert "NOT posted on Facebook" in sms and "/r/" in sms, "the text links to the failed reply's page"
    ((subject, email, attributes),) = world.topic_messages()
    assert subject and "could not be posted on Facebook" in subject
    assert attributes == {"agent_id": {"Type": "String", "Value": agent_id_for(LEAD.email)}}
    assert "Thanks!" in email and "Alice Agent" in email and "meta_invalid_token" in email
    for message in (sms, subject, email):
        assert "dev-meta-page-token" not in message and "dev-meta-app-secret" not in message
    stored = world.aws.mention_store().get(mention.id)
    # Not answered, and shown as such: it keeps escalating as it did before the reply.
    assert stored is not None and stored.answered_at is None and stored.status is MentionStatus.REPLY_FAILED

    # A redelivery of the same message changes nothing and tells nobody twice.
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=world.queue_url,
        MessageBody=f'{{"mention_id": "{mention.id}", "reply_id": "{reply.reply_id}"}}',
    )
    world.drain()
    assert len(world.simulator.calls) == 1 and len(world.sms()) == 1 and len(world.topic_messages()) == 1


def test_a_refusal_that_needs_no_lead_texts_only_the_agent(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    queue_reply(world, mention, "Hello!")
    world.refuse(1, 404, json_body={"title": "Not Found Error", "detail": "the post was deleted"})
    world.drain()
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.FAILED and reply.failure_code == "x_404"
    assert len(world.sms()) == 1 and world.topic_messages() == []


def test_the_failure_text_opens_the_not_posted_page_and_try_again_posts_once(world: ReplyWorld) -> None:
    mention = customer_mention("111_333", platform="facebook", kind=MentionKind.COMMENT, created_at=CREATED)
    queue_reply(world, mention, "Thanks for waiting!")
    error = {"message": "Error validating access token", "type": "OAuthException", "code": 190}
    world.refuse(1, 400, json_body={"error": error})
    world.drain()
    ((_phone, sms),) = world.sms()
    token = sms.rsplit("/r/", 1)[1].split()[0]

    page = world.get(token)
    shown = text_of(page)
    assert page["statusCode"] == 200 and "Not posted" in shown and "Already answered" not in shown
    assert "Error validating access token" in shown and "Thanks for waiting!" in shown
    assert "Try again" in shown and "Edit and send" in shown
    nonce = nonce_of(page)
    refused = world.post(token, {"nonce": nonce, "action": "try_again"}, {"sec-fetch-site": "cross-site"})
    assert refused["statusCode"] == 403
    assert world.post(token, {"nonce": "1.bad", "action": "try_again"})["statusCode"] == 403

    # The token was renewed: Try again, twice (a double tap), goes out once through the reply queue.
    for _ in range(2):
        assert world.post(token, {"nonce": nonce, "action": "try_again"})["statusCode"] == 200
    world.drain()
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.SENT and reply.text == "Thanks for waiting!"
    assert world.accepted() == 1 and len(world.simulator.calls) == 2  # the refused post, then this one
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ANSWERED
    assert "Already answered" in text_of(world.get(token))


def test_edit_and_send_posts_the_new_text(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    queue_reply(world, mention, "Hello!")
    world.refuse(1, 403, json_body={"title": "Forbidden", "detail": "duplicate content"})
    world.drain()
    ((_phone, sms),) = world.sms()
    token = sms.rsplit("/r/", 1)[1].split()[0]
    nonce = nonce_of(world.get(token))
    answer = world.post(token, {"nonce": nonce, "action": "edit_and_send", "text": "Hello again, Carol!"})
    assert answer["statusCode"] == 200, answer["body"]
    world.drain()
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.SENT and reply.text == "Hello again, Carol!"


# ---------------------------------------------------------------- at-least-once delivery
def test_a_redelivered_message_posts_nothing_more(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    reply = queue_reply(world, mention, "Hello!")
    body = f'{{"mention_id": "{mention.id}", "reply_id": "{reply.reply_id}"}}'
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)  # SQS delivers a message twice
    world.drain()
    sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)  # and once more, later
    world.drain()
    assert len(world.simulator.calls) == 1
    assert_sent_once(world, mention, "Hello!")


def sending_left_behind(world: ReplyWorld, reply: Reply, lease_until: datetime) -> None:
    """As if a sender had claimed the reply and then died (or were still working on it)."""
    started = lease_until - timedelta(seconds=30)
    world.table.update_item(
        Key={"pk": f"REPLY#{reply.mention_id}", "sk": f"REPLY#{reply.reply_id}"},
        UpdateExpression="SET #state = :sending, lease_owner = :owner, lease_until = :until, "
        "attempt_started_at = :started, attempts = :one",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={
            ":sending": "sending",
            ":owner": "dead-sender",
            ":until": int(lease_until.timestamp()),
            ":started": started.isoformat(),
            ":one": 1,
        },
    )


def test_a_reply_held_by_a_live_sender_waits_for_its_lease(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    reply = queue_reply(world, mention, "Hello!")
    sending_left_behind(world, reply, datetime.now(UTC) + timedelta(seconds=20))

    world.drain()

    assert world.simulator.calls == []
    (delay,) = world.hidden_delays()
    assert 15 <= delay <= 22, "comes back when the lease runs out"
    assert only_reply(world, mention).lease_owner == "dead-sender"


def test_a_sender_that_died_while_posting_is_taken_over_after_its_lease(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    reply = queue_reply(world, mention, "Hello!")
    sending_left_behind(world, reply, datetime.now(UTC) - timedelta(seconds=1))

    world.drain()

    assert [call.method for call in world.simulator.calls] == ["GET", "POST"], "asked X first"
    taken = assert_sent_once(world, mention, "Hello!")
    assert taken.attempts == 2 and taken.sent_via == "posted_after_lookup"


def test_a_sender_that_died_after_posting_is_not_posted_again(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    reply = queue_reply(world, mention, "Hello!")
    world.drain()
    assert len(world.simulator.calls) == 1
    sent = only_reply(world, mention)
    # Rewind the reply to what a sender leaves when it dies right after storing its post as ours.
    sending_left_behind(world, reply, datetime.now(UTC) - timedelta(seconds=1))
    world.table.update_item(
        Key={"pk": f"REPLY#{reply.mention_id}", "sk": f"REPLY#{reply.reply_id}"},
        UpdateExpression="REMOVE platform_reply_id, sent_at",
    )
    boto3.client("sqs").send_message(
        QueueUrl=world.queue_url,
        MessageBody=f'{{"mention_id": "{mention.id}", "reply_id": "{reply.reply_id}"}}',
    )

    world.drain()

    assert len(world.simulator.calls) == 1, "its own record of the post was found"
    again = only_reply(world, mention)
    assert again.state is ReplyState.SENT and again.platform_reply_id == sent.platform_reply_id


def test_a_text_that_could_not_be_sent_is_sent_when_the_message_comes_back(
    world: ReplyWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    mention = customer_mention(created_at=CREATED)
    queue_reply(world, mention, "Hello!")
    world.refuse(1, 403, json_body={"title": "Forbidden", "detail": "You are not permitted to reply"})
    notifier = get_reply_sender().notifier
    real_text = notifier.text_agent
    outages = [RuntimeError("SNS is down")]

    def flaky_text(phone: str, message: str) -> None:
        if outages:
            raise outages.pop()
        real_text(phone, message)

    monkeypatch.setattr(notifier, "text_agent", flaky_text)

    (answer,) = world.drain()

    assert len(answer["batchItemFailures"]) == 1, "the record fails, so the message comes back"
    reply = only_reply(world, mention)
    assert reply.state is ReplyState.FAILED and reply.agent_notified_at is None
    assert world.sms() == []
    assert world.time_passes() == 1  # the queue's visibility timeout
    world.drain()
    ((phone, message),) = world.sms()
    assert phone == ALICE.phone and "NOT posted on X" in message
    assert only_reply(world, mention).agent_notified_at is not None
    assert len(world.simulator.calls) == 1, "the reply itself is not posted again"


# ---------------------------------------------------------------- what the reply carries
def test_a_reply_stored_without_a_copy_of_its_mention_reads_the_mention(world: ReplyWorld) -> None:
    mention = customer_mention(created_at=CREATED)
    reply = queue_reply(world, mention, "Hello!")
    # As replies were stored before they carried what the sender needs of the mention.
    world.table.update_item(
        Key={"pk": f"REPLY#{reply.mention_id}", "sk": f"REPLY#{reply.reply_id}"},
        UpdateExpression="REMOVE target_mention",
    )
    world.drain()
    (call,) = world.simulator.calls
    assert call.body == {"text": "Hello!", "reply": {"in_reply_to_tweet_id": mention.external_id}}
    assert_sent_once(world, mention, "Hello!")


def test_a_second_reply_is_posted_and_stored_as_ours_but_the_first_answer_stays(world: ReplyWorld) -> None:
    mention = world.assigned(customer_mention(created_at=CREATED), ALICE, BOB)
    alice, bob = world.link(mention, ALICE), world.link(mention, BOB)
    assert world.answer(alice, "Alice here.")["statusCode"] == 200
    world.drain()
    first = world.aws.mention_store().get(mention.id)
    assert first is not None and first.answered_by == ALICE.email

    assert world.answer(bob, "Bob here.", confirm_second="yes")["statusCode"] == 200
    world.drain()

    assert world.accepted() == 2
    assert [r.state for r in world.replies(mention)] == [ReplyState.SENT, ReplyState.SENT]
    assert sorted(m.text for m in our_mentions(world, mention)) == ["Alice here.", "Bob here."]
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ANSWERED
    assert (stored.answered_by, stored.answered_at) == (ALICE.email, first.answered_at)
    assert stored.first_response_seconds == first.first_response_seconds
