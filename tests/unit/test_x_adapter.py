"""X Account Activity parsing and verification, from the documented payload shapes."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.errors import InvalidSignature, MalformedPayload, NotConfigured
from socialcare.models import MentionKind, MentionStatus
from socialcare.platforms import x
from socialcare.platforms.x import XConfig, payloads
from socialcare.platforms.x.payloads import tweet
from socialcare.signatures import sha256_base64
from socialcare.webhook.receive import json_body
from tests.conftest import DEV_CONFIG, examples

CONFIG = XConfig.model_validate(DEV_CONFIG["x"])
BRAND = CONFIG.brand_user_id


def envelope(**events: Any) -> dict[str, Any]:
    return {"for_user_id": BRAND, **events}


def test_crc_response_uses_consumer_secret_or_oauth2_secret() -> None:
    assert x.crc_response("abc", XConfig(consumer_secret="c")) == {
        "response_token": sha256_base64("c", "abc")
    }
    both = XConfig(consumer_secret="c", oauth2_client_secret="o")
    assert x.crc_response("abc", both) == {"response_token": sha256_base64("o", "abc")}
    with pytest.raises(NotConfigured):
        x.crc_response("abc", XConfig())


def test_signature_over_raw_bytes() -> None:
    body = b'{"for_user_id": "1"}'
    x.verify_signature(body, {x.SIGNATURE_HEADER: sha256_base64(CONFIG.consumer_secret, body)}, CONFIG)
    with pytest.raises(InvalidSignature):
        x.verify_signature(
            body + b" ", {x.SIGNATURE_HEADER: sha256_base64(CONFIG.consumer_secret, body)}, CONFIG
        )
    with pytest.raises(InvalidSignature):
        x.verify_signature(body, {}, CONFIG)


def test_oauth2_signature_required_whenever_its_secret_is_configured() -> None:
    config = XConfig(consumer_secret="c", oauth2_client_secret="o")
    body = b"{}"
    good = {x.SIGNATURE_HEADER: sha256_base64("c", body), x.OAUTH2_SIGNATURE_HEADER: sha256_base64("o", body)}
    x.verify_signature(body, good, config)
    with pytest.raises(InvalidSignature):
        x.verify_signature(body, {**good, x.OAUTH2_SIGNATURE_HEADER: sha256_base64("c", body)}, config)
    with pytest.raises(InvalidSignature):  # the consumer-secret signature alone is not enough
        x.verify_signature(body, {x.SIGNATURE_HEADER: good[x.SIGNATURE_HEADER]}, config)
    with pytest.raises(InvalidSignature):  # an OAuth 2.0 signature we cannot check is not accepted
        x.verify_signature(body, good, XConfig(consumer_secret="c"))


@pytest.mark.parametrize(
    "token",
    ['{"for_user_id":"1"}', "", "a" * 129, "abc def", "123", "-1", "1e5", "true", "null", "tok\n", "ä"],
)
def test_crc_refuses_what_x_never_sends(token: str) -> None:
    with pytest.raises(MalformedPayload):
        x.crc_response(token, CONFIG)


def test_crc_answers_tokens_of_x_shape() -> None:
    token = "Zm9vYmFyLWNyYy10b2tlbi0xMjM0NTY3ODkw+/_-="
    assert x.crc_response(token, CONFIG) == {"response_token": sha256_base64(CONFIG.crc_secret, token)}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
JSON_HEADERS = {"content-type": "application/json"}


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=160) | st.from_regex(x.CRC_TOKEN, fullmatch=True))
def test_a_crc_answer_never_signs_a_json_body(token: str) -> None:
    """Whatever token the endpoint answers, its answer verifies as a delivery signature only over the
    token's own bytes, and those bytes are never JSON: the answer cannot be replayed as a signed delivery."""
    try:
        answer = x.crc_response(token, CONFIG)["response_token"]
    except MalformedPayload:
        return
    body = token.encode()
    x.verify_signature(body, {x.SIGNATURE_HEADER: answer}, CONFIG)  # it is that body's signature...
    with pytest.raises(MalformedPayload):
        json_body(body, JSON_HEADERS)  # ...and that body is not JSON


@settings(max_examples=examples(200), deadline=None)
@given(JSON_VALUES, st.sampled_from([(",", ":"), (", ", ": ")]))
def test_no_json_text_is_answered_as_a_crc_token(value: Any, separators: tuple[str, str]) -> None:
    with pytest.raises(MalformedPayload):
        x.crc_response(json.dumps(value, separators=separators), CONFIG)


def test_truncated_tweet_gives_full_text_and_author() -> None:
    item = tweet(text="short…", truncated=True, extended_tweet={"full_text": "the whole long text 🙂"})
    item["user"].update(followers_count=50_000, verified=True)
    delivery = x.parse_delivery(envelope(tweet_create_events=[item]), CONFIG)
    (mention,) = delivery.mentions
    assert mention.text == "the whole long text 🙂"
    assert mention.platform == "x" and mention.kind is MentionKind.POST
    assert mention.author.handle == "alice" and mention.author.followers == 50_000 and mention.author.verified
    assert mention.url == "https://x.com/alice/status/1850000000000000001"
    assert mention.created_at.year == 2018 and mention.created_at.utcoffset() is not None
    assert not mention.is_ours and mention.status is MentionStatus.NEW


def test_brand_own_post_is_recorded_as_ours() -> None:
    delivery = x.parse_delivery(
        envelope(tweet_create_events=[tweet(user_id=BRAND, screen_name="brand")]), CONFIG
    )
    assert delivery.mentions[0].is_ours and delivery.mentions[0].status is MentionStatus.OURS


def test_reply_carries_its_thread() -> None:
    item = tweet(tweet_id="2", in_reply_to_status_id_str="1")
    (mention,) = x.parse_delivery(envelope(tweet_create_events=[item]), CONFIG).mentions
    assert mention.in_reply_to == "1" and mention.thread_key == "1"


def test_retweet_and_blocked_are_ignored_but_quote_is_kept() -> None:
    retweet = tweet(tweet_id="3", retweeted_status={"id_str": "1"})
    quote = tweet(tweet_id="4", quoted_status={"id_str": "1"}, retweeted_status=None)
    blocked = tweet(tweet_id="5", user_has_blocked="true")
    delivery = x.parse_delivery(envelope(tweet_create_events=[retweet, quote, blocked]), CONFIG)
    assert [m.external_id for m in delivery.mentions] == ["4"]
    assert sorted(delivery.ignored) == ["retweet", "user_has_blocked"]
    blocked_envelope = envelope(user_has_blocked="true", tweet_create_events=[tweet()])
    assert x.parse_delivery(blocked_envelope, CONFIG).mentions == []


def test_direct_messages_use_users_map_and_mark_echoes() -> None:
    def dm(event_id: str, sender: str, recipient: str) -> dict[str, Any]:
        return payloads.direct_message(event_id, sender, recipient, f"hello from {sender}")

    payload = envelope(
        direct_message_events=[dm("d1", "42", BRAND), dm("d2", BRAND, "42")],
        users={"42": {"id_str": "42", "id": "42", "screen_name": "alice", "name": "Alice"}},
    )
    customer, ours = x.parse_delivery(payload, CONFIG).mentions
    assert customer.kind is MentionKind.DIRECT_MESSAGE and customer.author.handle == "alice"
    assert customer.thread_key == ours.thread_key == "dm:42"
    assert customer.created_at.timestamp() == 1_700_000_000
    assert not customer.is_ours and ours.is_ours


def test_deletes_become_tombstones_and_noise_is_ignored() -> None:
    payload = envelope(
        tweet_delete_events=[{"status": {"id": "9", "user_id": "42"}, "timestamp_ms": "1"}],
        favorite_events=[{}],
        follow_events=[{}],
    )
    delivery = x.parse_delivery(payload, CONFIG)
    assert delivery.mentions == []
    assert [(t.external_id, t.status) for t in delivery.tombstones] == [("9", MentionStatus.DELETED)]
    assert sorted(delivery.ignored) == ["favorite_events", "follow_events"]


def test_unknown_envelope_is_acknowledged_not_stored() -> None:
    delivery = x.parse_delivery({"events": [{"kind": "new.shape"}]}, CONFIG)
    assert delivery.mentions == [] and delivery.ignored == ["unknown-envelope"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "JSON object"),
        (envelope(tweet_create_events={}), "tweet_create_events must be a list"),
        (envelope(tweet_create_events=[{"text": "no id"}]), "tweet_create_events[0].id_str"),
        (envelope(tweet_create_events=[tweet(created_at="yesterday")]), "created_at"),
        (envelope(tweet_delete_events=[{}]), "status.id"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(payload: Any, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message.replace("[", r"\[").replace("]", r"\]")):
        x.parse_delivery(json.loads(json.dumps(payload)), CONFIG)


def test_a_direct_message_in_the_documented_shape_names_its_sender() -> None:
    # The hand-out's example: the users map carries `id` (a string), not `id_str`.
    payload = payloads.delivery(
        BRAND,
        direct_messages=[payloads.direct_message("d5", "5004", BRAND, "where is my refund?")],
        users=[payloads.dm_user("5004", "eve_o", "Eve"), payloads.dm_user(BRAND, "brand", "Brand")],
    )
    (mention,) = x.parse_delivery(json.loads(json.dumps(payload)), CONFIG).mentions
    assert (mention.author.id, mention.author.handle, mention.author.name) == ("5004", "eve_o", "Eve")
    assert mention.kind is MentionKind.DIRECT_MESSAGE and mention.text == "where is my refund?"


def test_a_direct_message_from_a_sender_missing_from_the_users_map_is_kept_by_id() -> None:
    payload = payloads.delivery(BRAND, direct_messages=[payloads.direct_message("d6", "77", BRAND, "hi")])
    (mention,) = x.parse_delivery(payload, CONFIG).mentions
    assert mention.author.id == "77" and mention.author.handle is None
