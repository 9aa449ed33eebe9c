"""The X webhook in-process against moto: CRC, signed deliveries stored once, and every bad input refused
with nothing written."""

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from socialcare.data import mentions as store_module
from socialcare.platforms.x.payloads import tweet
from tests.conftest import tweet_delivery, x_signature
from tests.integration.conftest import Aws, Invoke, http_event, json_of


@pytest.fixture
def x_webhook(handlers: Callable[[str], Invoke]) -> Invoke:
    return handlers("XWebhookFunction")


def signed_post(
    body: bytes, signature: str | None = None, content_type: str = "application/json"
) -> dict[str, Any]:
    headers = {"content-type": content_type, "x-twitter-webhooks-signature": signature or x_signature(body)}
    return http_event("POST", "/webhooks/x", body, headers)


def test_crc_check_answers_with_configured_secret(x_webhook: Invoke, aws: Aws) -> None:
    response = x_webhook(http_event("GET", "/webhooks/x?crc_token=abc"))
    assert response["statusCode"] == 200
    assert json_of(response) == {"response_token": "sha256=FpF0AT94pPaLQeGpOLr9zODO256VpvxBQXzkcUPqNjw="}
    assert aws.items() == []


def test_crc_without_token_is_400(x_webhook: Invoke) -> None:
    response = x_webhook(http_event("GET", "/webhooks/x"))
    assert response["statusCode"] == 400 and "crc_token" in json_of(response)["error"]


def test_a_json_body_as_crc_token_is_refused_and_cannot_be_replayed(x_webhook: Invoke, aws: Aws) -> None:
    body = tweet_delivery(tweet(text="@brand URGENT verify your account at https://evil.example"))
    crc = x_webhook(http_event("GET", "/webhooks/x?crc_token=" + quote(body.decode(), safe="")))
    assert crc["statusCode"] == 400 and "crc_token" in json_of(crc)["error"]
    forged = json_of(crc).get("response_token", "sha256=")
    replayed = x_webhook(signed_post(body, forged))
    assert replayed["statusCode"] == 401
    assert aws.items() == []


def test_signed_mention_is_stored_once_however_often_sent(x_webhook: Invoke, aws: Aws) -> None:
    body = tweet_delivery(tweet(text="@brand where is my parcel? 📦"))
    first = x_webhook(signed_post(body))
    again = x_webhook(signed_post(body))
    assert first["statusCode"] == again["statusCode"] == 200
    assert json_of(first)["stored"] == 1 and json_of(again) == {
        "stored": 0,
        "duplicates": 1,
        "edited": 0,
        "gone": 0,
        "text_pending": 0,
        "ignored": [],
    }
    (mention,) = aws.mention_store().list()
    assert mention.id == "x-1850000000000000001" and mention.text == "@brand where is my parcel? 📦"
    assert mention.conversation_id == "x:1850000000000000001"


@pytest.mark.usefixtures("atomic_aws_calls")
def test_concurrent_duplicate_deliveries_store_one_mention(x_webhook: Invoke, aws: Aws) -> None:
    body = tweet_delivery(tweet(tweet_id="777"))
    results: list[dict[str, Any]] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        results.append(x_webhook(signed_post(body)))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r["statusCode"] for r in results] == [200] * 8
    assert sum(json_of(r)["stored"] for r in results) == 1
    assert len(aws.items()) == 1


def test_reply_joins_the_conversation_of_its_parent(x_webhook: Invoke, aws: Aws) -> None:
    x_webhook(signed_post(tweet_delivery(tweet(tweet_id="100"))))
    x_webhook(signed_post(tweet_delivery(tweet(tweet_id="101", in_reply_to_status_id_str="100"))))
    x_webhook(signed_post(tweet_delivery(tweet(tweet_id="102", in_reply_to_status_id_str="101"))))
    store = aws.mention_store()
    assert {store.get(f"x-{i}").conversation_id for i in ("100", "101", "102")} == {"x:100"}  # type: ignore[union-attr]


def test_brand_posts_are_stored_as_ours_and_not_listed(x_webhook: Invoke, aws: Aws) -> None:
    x_webhook(signed_post(tweet_delivery(tweet(tweet_id="5", user_id="1000000001", screen_name="brand"))))
    assert aws.mention_store().list() == []
    (ours,) = aws.mention_store().list(include_ours=True)
    assert ours.is_ours


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha256=AAAA", x_signature(b"other body")],
    ids=["none", "empty", "bare", "short", "other-body"],
)
def test_missing_or_wrong_signature_is_401_and_writes_nothing(
    x_webhook: Invoke, aws: Aws, signature: str | None
) -> None:
    body = tweet_delivery(tweet())
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-twitter-webhooks-signature"] = signature
    response = x_webhook(http_event("POST", "/webhooks/x", body, headers))
    assert response["statusCode"] == 401
    assert aws.items() == []


def test_signed_but_malformed_json_is_400_with_a_clear_message(x_webhook: Invoke, aws: Aws) -> None:
    body = b'{"for_user_id": "1", "tweet_create_events": [}'
    response = x_webhook(signed_post(body))
    assert response["statusCode"] == 400
    assert "not valid JSON" in json_of(response)["error"]
    assert aws.items() == []


def test_signed_but_wrong_content_type_is_415(x_webhook: Invoke, aws: Aws) -> None:
    body = tweet_delivery(tweet())
    assert x_webhook(signed_post(body, content_type="text/plain"))["statusCode"] == 415
    assert aws.items() == []


def test_events_we_do_not_handle_are_acknowledged(x_webhook: Invoke, aws: Aws) -> None:
    body = b'{"for_user_id": "1000000001", "favorite_events": [{"id": "1"}]}'
    response = x_webhook(signed_post(body))
    assert response["statusCode"] == 200 and json_of(response)["ignored"] == ["favorite_events"]
    assert aws.items() == []


def test_storage_failure_is_503_so_x_retries(x_webhook: Invoke, aws: Aws) -> None:
    body = tweet_delivery(tweet(tweet_id="900"))
    dynamodb = store_module.get_mention_store()._table.client

    def throttle(**_: Any) -> None:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
        raise ClientError(error, "PutItem")

    dynamodb.meta.events.register("before-call.dynamodb.PutItem", throttle, unique_id="throttle")
    response = x_webhook(signed_post(body))
    assert response["statusCode"] == 503 and "retry" in json_of(response)["error"]
    assert aws.items() == []
    dynamodb.meta.events.unregister("before-call.dynamodb.PutItem", unique_id="throttle")
    assert json_of(x_webhook(signed_post(body)))["stored"] == 1  # X's retry succeeds


def test_a_number_dynamodb_cannot_hold_is_400_and_writes_nothing(x_webhook: Invoke, aws: Aws) -> None:
    body = tweet_delivery(tweet(followers_count=10**40))
    answer = x_webhook(signed_post(body))
    assert answer["statusCode"] == 400 and "follower count" in json_of(answer)["error"]
    assert aws.items() == []
