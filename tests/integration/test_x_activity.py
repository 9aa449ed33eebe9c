"""The X Activity API's deliveries on the X route: recognised by shape, verified like the Account Activity
API's, and one post arriving by both APIs stored once."""

import json
from collections.abc import Callable

import pytest

from socialcare.platforms.x.payloads import activity_event, tweet
from tests.conftest import tweet_delivery, x_signature
from tests.integration.conftest import Aws, Invoke, http_event, json_of

pytestmark = pytest.mark.integration


def signed(body: bytes, secret: str | None = None) -> dict[str, str]:
    signature = x_signature(body) if secret is None else x_signature(body, secret)
    return {"content-type": "application/json", "x-twitter-webhooks-signature": signature}


def test_a_mention_received_by_both_apis_is_stored_once(handlers: Callable[[str], Invoke], aws: Aws) -> None:
    x_webhook = handlers("XWebhookFunction")
    account_activity = tweet_delivery(tweet(tweet_id="1870000000000000001", text="@brand where is it?"))
    first = x_webhook(http_event("POST", "/webhooks/x", account_activity, signed(account_activity)))
    assert json_of(first)["stored"] == 1

    activity = json.dumps(activity_event("1870000000000000001", "@brand where is it?")).encode()
    second = x_webhook(http_event("POST", "/webhooks/x", activity, signed(activity)))
    assert second["statusCode"] == 200
    assert json_of(second)["stored"] == 0 and json_of(second)["duplicates"] == 1
    assert aws.mention_store().get("x-1870000000000000001") is not None


def test_an_activity_delivery_alone_is_a_mention_and_a_forged_one_is_refused(
    handlers: Callable[[str], Invoke], aws: Aws
) -> None:
    x_webhook = handlers("XWebhookFunction")
    body = json.dumps(activity_event("1870000000000000002", "@brand hello", username="dora")).encode()
    forged = x_webhook(http_event("POST", "/webhooks/x", body, signed(body, "not-the-secret")))
    assert forged["statusCode"] == 401
    assert aws.mention_store().get("x-1870000000000000002") is None

    stored = x_webhook(http_event("POST", "/webhooks/x", body, signed(body)))
    assert json_of(stored)["stored"] == 1
    mention = aws.mention_store().get("x-1870000000000000002")
    assert mention is not None
    assert (mention.author.handle, mention.text) == ("dora", "@brand hello")
