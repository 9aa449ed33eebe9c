"""Hostile input: any single flipped bit in a correctly signed body is refused by every webhook, and nothing
is written. (Random bodies and headers are in test_webhook_fuzz.py.)"""

import json
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcare.platforms.x.payloads import tweet
from tests.conftest import examples, tweet_delivery, x_signature
from tests.integration.conftest import Aws, Invoke, http_event
from tests.integration.webhook_requests import (
    meta_body,
    meta_headers,
    page_comment,
    page_delivery,
    review,
    source_headers,
)

SIGNED_BODIES: dict[str, bytes] = {
    "x": tweet_delivery(tweet(tweet_id="31337", text="@brand café ☕ is cold")),
    "meta": meta_body(page_delivery(page_comment(comment_id="P1_C77", message="¿Dónde está mi pedido?"))),
    "source": json.dumps(review()).encode(),
}


def signed_request(platform: str, original: bytes, sent: bytes) -> dict[str, object]:
    """The headers are the ones signed for `original`; the body sent is `sent`."""
    if platform == "x":
        headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(original)}
        return http_event("POST", "/webhooks/x", sent, headers)
    if platform == "meta":
        return http_event("POST", "/webhooks/meta", sent, meta_headers(original))
    headers = source_headers(original, webhook_id="msg_tamper", timestamp=int(time.time()))
    return http_event("POST", "/webhooks/sources/reviews", sent, headers)


FUNCTIONS = {"x": "XWebhookFunction", "meta": "MetaWebhookFunction", "source": "SourceWebhookFunction"}


@pytest.mark.parametrize("platform", sorted(SIGNED_BODIES))
def test_the_untouched_body_is_accepted(platform: str, handlers: Callable[[str], Invoke], aws: Aws) -> None:
    body = SIGNED_BODIES[platform]
    response = handlers(FUNCTIONS[platform])(signed_request(platform, body, body))  # type: ignore[arg-type]
    assert response["statusCode"] == 200, response["body"]
    assert len(aws.mention_store().list()) == 1


@pytest.mark.parametrize("platform", sorted(SIGNED_BODIES))
@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_flipped_bit_anywhere_is_refused_and_writes_nothing(
    platform: str, data: st.DataObject, handlers: Callable[[str], Invoke], aws: Aws
) -> None:
    body = SIGNED_BODIES[platform]
    bit = data.draw(st.integers(min_value=0, max_value=len(body) * 8 - 1), label="bit")
    tampered = bytearray(body)
    tampered[bit // 8] ^= 1 << (bit % 8)
    before = len(aws.items())
    response = handlers(FUNCTIONS[platform])(signed_request(platform, body, bytes(tampered)))  # type: ignore[arg-type]
    assert response["statusCode"] == 401, (bit, response["statusCode"], response["body"])
    assert len(aws.items()) == before
