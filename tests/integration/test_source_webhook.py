"""The Standard Webhooks endpoint in-process against moto: a configured source's signed mentions stored once
(webhook-id is the idempotency key), deletions, and every bad input refused with nothing written."""

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from socialcare.models import MentionKind, MentionStatus
from tests.integration.conftest import Aws, Invoke, http_event, json_of
from tests.integration.webhook_requests import review, source_headers


@pytest.fixture
def source_webhook(handlers: Callable[[str], Invoke]) -> Invoke:
    return handlers("SourceWebhookFunction")


def post(
    webhook: Invoke,
    payload: dict[str, Any] | bytes,
    headers: dict[str, str] | None = None,
    source: str = "reviews",
    webhook_id: str | None = None,
) -> dict[str, Any]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    event = http_event(
        "POST", f"/webhooks/sources/{source}", body, headers or source_headers(body, webhook_id=webhook_id)
    )
    return webhook(event)


def answer_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 200, response
    answer: dict[str, Any] = json_of(response)
    return answer


def mention_items(aws: Aws) -> list[dict[str, Any]]:
    return [item for item in aws.items() if item.get("entity") == "mention"]


def test_signed_mention_is_stored_under_the_sources_name(source_webhook: Invoke, aws: Aws) -> None:
    answer = answer_of(post(source_webhook, review(text="Two stars: the parcel came open 📦")))
    assert answer["stored"] == 1
    (mention,) = aws.mention_store().list()
    assert (mention.platform, mention.external_id, mention.kind) == ("reviews", "rev-1", MentionKind.REVIEW)
    assert mention.text == "Two stars: the parcel came open 📦" and mention.status is MentionStatus.NEW
    assert (mention.author.name, mention.author.handle) == ("Bea Buyer", "bea")
    assert mention.url == "https://reviews.example/r/rev-1"
    assert mention.created_at.isoformat() == "2024-05-01T10:00:00+00:00"
    assert mention.raw["webhook_id"].startswith("msg_")


def test_a_resend_with_the_same_webhook_id_stores_nothing_new(source_webhook: Invoke, aws: Aws) -> None:
    body = json.dumps(review()).encode()
    first = answer_of(post(source_webhook, body, source_headers(body, webhook_id="msg_1")))
    again = answer_of(post(source_webhook, body, source_headers(body, webhook_id="msg_1")))
    assert (first["stored"], again["stored"], again["duplicates"]) == (1, 0, 1)
    assert len(mention_items(aws)) == 1


def test_the_same_webhook_id_with_another_body_is_not_stored(source_webhook: Invoke, aws: Aws) -> None:
    answer_of(post(source_webhook, review("rev-1"), webhook_id="msg_same"))
    other = answer_of(post(source_webhook, review("rev-2", "a different review"), webhook_id="msg_same"))
    assert (other["stored"], other["duplicates"]) == (0, 1)
    assert [m.id for m in aws.mention_store().list()] == ["reviews-rev-1"]


def test_a_resend_after_a_failed_attempt_still_stores(
    source_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcare.data import mentions as store_module
    from socialcare.errors import StorageUnavailable

    body = json.dumps(review("rev-3")).encode()
    original = store_module.MentionStore.put_if_new

    def unavailable(self: Any, mention: Any) -> bool:
        raise StorageUnavailable("throttled")

    monkeypatch.setattr(store_module.MentionStore, "put_if_new", unavailable)
    failed = post(source_webhook, body, source_headers(body, webhook_id="msg_retry"))
    assert failed["statusCode"] == 503  # the claim was written, the mention was not
    monkeypatch.setattr(store_module.MentionStore, "put_if_new", original)
    retried = answer_of(post(source_webhook, body, source_headers(body, webhook_id="msg_retry")))
    assert retried["stored"] == 1
    assert [m.id for m in aws.mention_store().list()] == ["reviews-rev-3"]


def test_another_webhook_id_for_the_same_review_is_a_duplicate(source_webhook: Invoke, aws: Aws) -> None:
    answer_of(post(source_webhook, review(), webhook_id="msg_a"))
    assert answer_of(post(source_webhook, review(), webhook_id="msg_b"))["duplicates"] == 1
    assert len(mention_items(aws)) == 1


def test_a_reply_joins_the_conversation_of_what_it_answers(source_webhook: Invoke, aws: Aws) -> None:
    answer_of(post(source_webhook, review("rev-1")))
    answer_of(post(source_webhook, review("rev-2", "Same here", in_reply_to="rev-1")))
    conversation = aws.mention_store().conversation("reviews:rev-1")
    assert [m.external_id for m in conversation] == ["rev-1", "rev-2"]


def test_mention_deleted_marks_it_deleted(source_webhook: Invoke, aws: Aws) -> None:
    answer_of(post(source_webhook, review("rev-1")))
    gone = answer_of(post(source_webhook, {"type": "mention.deleted", "data": {"id": "rev-1"}}))
    assert gone["gone"] == 1
    assert aws.mention_store().get("reviews-rev-1").status is MentionStatus.DELETED  # type: ignore[union-attr]


def test_event_types_we_do_not_know_are_acknowledged(source_webhook: Invoke, aws: Aws) -> None:
    answer = answer_of(post(source_webhook, {"type": "review.liked", "data": {}}))
    assert answer["ignored"] == ["review.liked"] and aws.items() == []


# ---------------------------------------------------------------- refused, nothing written
def test_an_unknown_source_is_404(source_webhook: Invoke, aws: Aws) -> None:
    response = post(source_webhook, review(), source="blog")
    assert response["statusCode"] == 404
    assert aws.items() == []


def test_a_source_signing_with_another_sources_secret_is_401(source_webhook: Invoke, aws: Aws) -> None:
    body = json.dumps(review()).encode()
    headers = source_headers(body, secret="whsec_b3RoZXItc291cmNlLXNlY3JldA==")
    assert post(source_webhook, body, headers)["statusCode"] == 401
    assert aws.items() == []


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.pop("webhook-signature"),
        lambda h: h.pop("webhook-id"),
        lambda h: h.pop("webhook-timestamp"),
        lambda h: h.update({"webhook-signature": "v1,AAAA"}),
        lambda h: h.update({"webhook-id": "msg_other"}),  # the id is signed too
        lambda h: h.update({"webhook-timestamp": "soon"}),
    ],
    ids=["no-signature", "no-id", "no-timestamp", "wrong-signature", "other-id", "bad-timestamp"],
)
def test_missing_or_wrong_signature_headers_are_401(
    source_webhook: Invoke, aws: Aws, change: Callable[[dict[str, str]], Any]
) -> None:
    body = json.dumps(review()).encode()
    headers = source_headers(body)
    change(headers)
    response = post(source_webhook, body, headers)
    assert response["statusCode"] == 401 and json_of(response)["error"]
    assert aws.items() == []


@pytest.mark.parametrize("offset", [-310, -3600, 310], ids=["stale", "an-hour-old", "future"])
def test_a_stale_or_future_timestamp_is_401(source_webhook: Invoke, aws: Aws, offset: int) -> None:
    body = json.dumps(review()).encode()
    response = post(source_webhook, body, source_headers(body, timestamp=int(time.time()) + offset))
    assert response["statusCode"] == 401
    assert aws.items() == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"type": "mention.created", "data": {', "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"data": {}}', "type"),
        (json.dumps({"type": "mention.created"}).encode(), "data"),
        (json.dumps(review(author={})).encode(), "author"),
        (
            json.dumps({"type": "mention.created", "data": {**review()["data"], "text": None}}).encode(),
            "text",
        ),
        (json.dumps(review(created_at="yesterday")).encode(), "created_at"),
        (json.dumps(review("")).encode(), "id"),
        (json.dumps(review("r" * 600)).encode(), "longer than"),
    ],
    ids=["syntax", "array", "no-type", "no-data", "no-author", "no-text", "bad-time", "empty-id", "long-id"],
)
def test_malformed_or_incomplete_body_is_400(
    source_webhook: Invoke, aws: Aws, payload: bytes, message: str
) -> None:
    response = post(source_webhook, payload)
    assert response["statusCode"] == 400, response
    assert message in json_of(response)["error"]
    assert aws.items() == []


def test_wrong_content_type_is_415(source_webhook: Invoke, aws: Aws) -> None:
    body = json.dumps(review()).encode()
    headers = {**source_headers(body), "content-type": "text/plain"}
    assert post(source_webhook, body, headers)["statusCode"] == 415
    assert aws.items() == []


def test_a_body_over_1_mb_is_413(source_webhook: Invoke, aws: Aws) -> None:
    body = json.dumps(review(text="x" * (1024 * 1024))).encode()
    assert post(source_webhook, body)["statusCode"] == 413
    assert aws.items() == []


def test_a_mention_too_large_to_store_is_413(source_webhook: Invoke, aws: Aws) -> None:
    body = json.dumps(review(text="x" * 400_000)).encode()  # under 1 MB, over what one item holds
    response = post(source_webhook, body)
    assert response["statusCode"] == 413 and "too large" in json_of(response)["error"]
    assert aws.items() == []


@pytest.fixture
def colliding_sources(dev_config: dict[str, Any]) -> dict[str, str]:
    """Two sources whose names once made one key: `a` with id `b-c` and `a-b` with id `c`."""
    secrets = {"a": "whsec_" + "QUFBQUFBQUFBQUFBQUFBQQ==", "a-b": "whsec_" + "QkJCQkJCQkJCQkJCQkJCQg=="}
    for name, secret in secrets.items():
        dev_config["sources"][name] = {"secret": secret}
    return secrets


def test_sources_with_colliding_names_keep_separate_mentions(
    colliding_sources: dict[str, str], source_webhook: Invoke, aws: Aws
) -> None:
    def send(source: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        headers = source_headers(body, secret=colliding_sources[source])
        return answer_of(post(source_webhook, body, headers, source=source))

    assert send("a", review("b-c", "the honest review"))["stored"] == 1
    assert send("a-b", review("c", "the other source's review"))["stored"] == 1
    stored = {(m.platform, m.external_id): m for m in aws.mention_store().list()}
    assert set(stored) == {("a", "b-c"), ("a-b", "c")}
    assert stored["a", "b-c"].text == "the honest review"
    assert stored["a", "b-c"].id != stored["a-b", "c"].id

    assert send("a-b", {"type": "mention.deleted", "data": {"id": "c"}})["gone"] == 1
    statuses = {(m.platform, m.external_id): m.status for m in aws.mention_store().list()}
    assert statuses == {("a", "b-c"): MentionStatus.NEW, ("a-b", "c"): MentionStatus.DELETED}
