"""The Standard Webhooks adapter: the spec's signature, its timestamp window, key rotation and the payload."""

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.errors import InvalidSignature, MalformedPayload, NotConfigured
from socialcare.models import MentionKind, MentionStatus
from socialcare.platforms import sources as standard_webhooks

# The contract's test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, rotated in").decode()


def vector_headers(**overrides: str) -> dict[str, str]:
    headers = {"webhook-id": MESSAGE_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}
    headers.update(overrides)
    return headers


def refused(headers: dict[str, str], body: bytes = BODY, secret: str = SECRET, now: float = TIMESTAMP) -> str:
    with pytest.raises(InvalidSignature) as caught:
        standard_webhooks.verify(body, headers, secret, now=now)
    assert caught.value.status_code == 401
    return caught.value.message


# ---------------------------------------------------------------- verify
def test_the_contract_vector_verifies() -> None:
    standard_webhooks.verify(BODY, vector_headers(), SECRET, now=TIMESTAMP)


def test_sign_headers_reproduces_the_contract_vector() -> None:
    assert standard_webhooks.sign_headers(SECRET, BODY, MESSAGE_ID, TIMESTAMP) == vector_headers()


def test_signed_headers_verify_against_the_current_clock() -> None:
    body = json.dumps({"type": "mention.created"}).encode()
    headers = standard_webhooks.sign_headers(SECRET, body, "msg_now", int(time.time()))
    standard_webhooks.verify(body, headers, SECRET)


def test_an_old_request_fails_against_the_current_clock() -> None:
    assert "too old" in refused(vector_headers(), now=time.time())


@pytest.mark.parametrize(
    ("body", "headers", "secret"),
    [
        (b'{"test": 2432232315}', vector_headers(), SECRET),  # another body
        (BODY, vector_headers(**{"webhook-id": "msg_other"}), SECRET),  # the id is signed
        (BODY, vector_headers(**{"webhook-timestamp": str(TIMESTAMP + 1)}), SECRET),  # so is the time
        (BODY, vector_headers(), OTHER_SECRET),
        (BODY, vector_headers(**{"webhook-signature": "v1,AAAA"}), SECRET),
    ],
)
def test_a_wrong_signature_is_refused(body: bytes, headers: dict[str, str], secret: str) -> None:
    assert "no v1 signature" in refused(headers, body=body, secret=secret, now=TIMESTAMP + 1)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    headers = vector_headers()
    del headers[missing]
    assert refused(headers) == f"missing {missing} header"


def test_an_empty_header_counts_as_missing() -> None:
    assert refused(vector_headers(**{"webhook-signature": ""})) == "missing webhook-signature header"


@pytest.mark.parametrize("timestamp", ["soon", "1614265330.0", "", "0x1"])
def test_a_timestamp_that_is_not_an_integer_is_refused(timestamp: str) -> None:
    message = refused(vector_headers(**{"webhook-timestamp": timestamp}))
    assert "webhook-timestamp" in message


def test_the_timestamp_may_be_off_by_the_tolerance() -> None:
    standard_webhooks.verify(BODY, vector_headers(), SECRET, now=TIMESTAMP + 300)
    standard_webhooks.verify(BODY, vector_headers(), SECRET, now=TIMESTAMP - 300)


def test_a_stale_timestamp_is_refused() -> None:
    assert "too old" in refused(vector_headers(), now=TIMESTAMP + 301)


def test_a_future_timestamp_is_refused() -> None:
    assert "in the future" in refused(vector_headers(), now=TIMESTAMP - 301)


def test_the_tolerance_is_configurable() -> None:
    standard_webhooks.verify(BODY, vector_headers(), SECRET, now=TIMESTAMP + 600, tolerance_s=600)
    with pytest.raises(InvalidSignature, match="too old"):
        standard_webhooks.verify(BODY, vector_headers(), SECRET, now=TIMESTAMP + 60, tolerance_s=30)


@pytest.mark.parametrize(
    "signatures",
    [
        f"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {SIGNATURE}",
        f"{SIGNATURE} v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        f"v1a,c29tZSBlZDI1NTE5IHNpZ25hdHVyZQ== {SIGNATURE}",
    ],
)
def test_during_key_rotation_any_matching_signature_is_enough(signatures: str) -> None:
    standard_webhooks.verify(BODY, vector_headers(**{"webhook-signature": signatures}), SECRET, now=TIMESTAMP)


def test_a_rotated_key_verifies_with_either_secret() -> None:
    old = standard_webhooks.sign_headers(SECRET, BODY, MESSAGE_ID, TIMESTAMP)["webhook-signature"]
    new = standard_webhooks.sign_headers(OTHER_SECRET, BODY, MESSAGE_ID, TIMESTAMP)["webhook-signature"]
    headers = vector_headers(**{"webhook-signature": f"{old} {new}"})
    standard_webhooks.verify(BODY, headers, SECRET, now=TIMESTAMP)
    standard_webhooks.verify(BODY, headers, OTHER_SECRET, now=TIMESTAMP)


def test_only_v1_signatures_are_considered() -> None:
    # The right bytes under another version label do not count.
    relabelled = SIGNATURE.replace("v1,", "v2,")
    assert "no v1 signature" in refused(vector_headers(**{"webhook-signature": relabelled}))


def test_verify_needs_a_usable_secret() -> None:
    with pytest.raises(NotConfigured):
        standard_webhooks.verify(BODY, vector_headers(), "", now=TIMESTAMP)
    with pytest.raises(NotConfigured):
        standard_webhooks.verify(BODY, vector_headers(), "whsec_abc", now=TIMESTAMP)  # bad base64 padding


# ---------------------------------------------------------------- parse_delivery
def created(**data_overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "rev-42",
        "url": "https://reviews.example/r/42",
        "text": "Shoes arrived a size too small.",
        "author": {"name": "Ana Cliente", "handle": "ana", "url": "https://reviews.example/u/ana"},
        "created_at": "2024-05-01T10:15:00Z",
        "in_reply_to": None,
    }
    data.update(data_overrides)
    return {"type": "mention.created", "data": data}


def test_a_created_mention_becomes_a_review() -> None:
    payload = created()
    delivery = standard_webhooks.parse_delivery("reviewsite", payload, "msg_1")
    [mention] = delivery.mentions
    assert (mention.id, mention.platform, mention.kind) == (
        "reviewsite-rev-42",
        "reviewsite",
        MentionKind.REVIEW,
    )
    assert mention.text == "Shoes arrived a size too small."
    assert mention.url == "https://reviews.example/r/42"
    assert mention.author.model_dump(include={"id", "handle", "name", "url"}) == {
        "id": "ana",
        "handle": "ana",
        "name": "Ana Cliente",
        "url": "https://reviews.example/u/ana",
    }
    assert mention.created_at == datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
    assert (mention.thread_key, mention.in_reply_to) == ("rev-42", None)
    assert mention.status == MentionStatus.NEW
    assert mention.raw == {**payload["data"], "webhook_id": "msg_1"}
    assert (delivery.edits, delivery.tombstones, delivery.ignored) == ([], [], [])


def test_a_reply_joins_the_thread_it_answers() -> None:
    [mention] = standard_webhooks.parse_delivery(
        "blog", created(id="c-2", in_reply_to="post-1"), "m"
    ).mentions
    assert (mention.thread_key, mention.in_reply_to) == ("post-1", "post-1")


def test_an_author_without_handle_is_known_by_name() -> None:
    payload = created(author={"name": "Ana Cliente"})
    [mention] = standard_webhooks.parse_delivery("blog", payload, "m").mentions
    assert (mention.author.id, mention.author.handle) == ("Ana Cliente", None)


def test_an_author_needs_a_handle_or_a_name() -> None:
    with pytest.raises(MalformedPayload, match=r"data\.author"):
        standard_webhooks.parse_delivery("blog", created(author={"url": "https://x.example"}), "m")


def test_times_keep_their_offset_and_naive_times_are_utc() -> None:
    [offset] = standard_webhooks.parse_delivery(
        "blog", created(created_at="2024-05-01T12:15:00+02:00"), "m"
    ).mentions
    [naive] = standard_webhooks.parse_delivery(
        "blog", created(created_at="2024-05-01T10:15:00"), "m"
    ).mentions
    assert offset.created_at == naive.created_at == datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
    assert offset.created_at.utcoffset() == timedelta(hours=2)
    assert naive.created_at.tzinfo == UTC


def test_unicode_text_is_kept() -> None:
    raw = b'{"type":"mention.created","data":{"id":"1","text":"Tr\\u00e8s bien \\ud83d\\udc4d",' + (
        b'"author":{"name":"Zo\\u00eb"},"created_at":"2024-05-01T10:15:00Z"}}'
    )
    headers = standard_webhooks.sign_headers(SECRET, raw, "msg_u", TIMESTAMP)
    standard_webhooks.verify(raw, headers, SECRET, now=TIMESTAMP)
    [mention] = standard_webhooks.parse_delivery("blog", json.loads(raw), "msg_u").mentions
    assert (mention.text, mention.author.id) == ("Tr\u00e8s bien \U0001f44d", "Zo\u00eb")


@pytest.mark.parametrize("field", ["id", "text", "author", "created_at"])
def test_a_missing_required_field_is_named(field: str) -> None:
    payload = created()
    del payload["data"][field]
    with pytest.raises(MalformedPayload) as caught:
        standard_webhooks.parse_delivery("blog", payload, "m")
    assert caught.value.message.startswith(f"data.{field}: ")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "the body must be a JSON object"),
        ({"data": {}}, "type: Field required"),
        ({"type": "mention.created"}, "data: Input should be a valid dictionary"),
        (created(id=""), "data.id: String should have at least 1 character"),
        (created(created_at="last tuesday"), "data.created_at: "),
        (created(author="ana"), "data.author: "),
        (created(text=None), "data.text: "),
    ],
)
def test_malformed_payloads_say_what_is_wrong(payload: object, message: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        standard_webhooks.parse_delivery("blog", payload, "m")
    assert caught.value.message.startswith(message)


def test_a_deleted_mention_is_a_tombstone() -> None:
    delivery = standard_webhooks.parse_delivery(
        "blog", {"type": "mention.deleted", "data": {"id": "rev-42"}}, "m"
    )
    assert [(t.platform, t.external_id, t.status) for t in delivery.tombstones] == [
        ("blog", "rev-42", MentionStatus.DELETED)
    ]
    assert delivery.mentions == []


def test_a_deleted_mention_needs_its_id() -> None:
    with pytest.raises(MalformedPayload, match=r"^data\.id: "):
        standard_webhooks.parse_delivery("blog", {"type": "mention.deleted", "data": {}}, "m")


@pytest.mark.parametrize("event_type", ["mention.updated", "ping", "review.flagged"])
def test_other_event_types_are_ignored(event_type: str) -> None:
    delivery = standard_webhooks.parse_delivery("blog", {"type": event_type, "data": {"id": "1"}}, "m")
    assert delivery.ignored == [event_type]
    assert (delivery.mentions, delivery.tombstones) == ([], [])


@pytest.mark.parametrize("name", ["x", "facebook", "instagram"])
def test_a_source_or_feed_may_not_take_a_platforms_name(name: str) -> None:
    from pydantic import ValidationError

    from socialcare.platforms import registry
    from socialcare.platforms.feeds import FeedsConfig

    assert name in registry.named_platforms()
    with pytest.raises(ValidationError, match=f"invalid source name '{name}'"):
        standard_webhooks.SourcesConfig.model_validate({name: {"secret": SECRET}})
    with pytest.raises(ValidationError, match=f"invalid feed name '{name}'"):
        FeedsConfig.model_validate({name: {"url": "https://blog.example/feed"}})
    assert standard_webhooks.SourcesConfig.model_validate({"trustpilot": {"secret": SECRET}}).get(
        "trustpilot"
    )
