"""The X Activity API envelope: mentions, replies and quotes become posts; other events are acknowledged."""

from datetime import UTC, datetime

from socialcare.models import MentionStatus
from socialcare.platforms.x.config import XConfig
from socialcare.platforms.x.payloads import activity_event
from socialcare.platforms.x.webhook import parse_delivery

CONFIG = XConfig(consumer_secret="s", brand_user_id="1000000001")


def test_a_mention_event_is_the_same_mention_as_account_activity_would_give() -> None:
    delivery = parse_delivery(activity_event("77", "@brand hi", "42", "alice"), CONFIG)
    (mention,) = delivery.mentions
    assert (mention.platform, mention.external_id, mention.text) == ("x", "77", "@brand hi")
    assert (mention.author.id, mention.author.handle) == ("42", "alice")
    assert mention.url == "https://x.com/alice/status/77"
    assert mention.created_at == datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)
    assert mention.thread_key == "77" and mention.in_reply_to is None


def test_a_reply_joins_what_it_answers_and_our_own_post_is_ours() -> None:
    reply = parse_delivery(
        activity_event("78", "thanks", event_type="post.reply.create", replied_to="70"), CONFIG
    )
    assert reply.mentions[0].in_reply_to == "70" and reply.mentions[0].thread_key == "70"
    ours = parse_delivery(activity_event("79", "we're on it", "1000000001", "brand"), CONFIG)
    assert ours.mentions[0].is_ours and ours.mentions[0].status is MentionStatus.OURS


def test_other_activity_events_are_acknowledged_and_not_stored() -> None:
    delivery = parse_delivery(activity_event("80", event_type="follow.follow"), CONFIG)
    assert delivery.mentions == [] and delivery.ignored == ["follow.follow"]
