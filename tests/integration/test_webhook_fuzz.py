"""Random requests to each of the three webhooks, in-process against moto: random bytes and headers,
correctly signed random JSON, and correctly signed valid deliveries with random damage. Whatever comes in,
the answer is never a 5xx (nor an exception), a refusal writes nothing, and an acceptance writes no more
mentions than it reports stored."""

import base64
import json
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcare.data.mentions import mention_to_item
from socialcare.errors import WebhookRejected
from socialcare.ingest.mentions import check_storable, fingerprint
from socialcare.platform_config import PlatformConfig
from socialcare.platforms import meta, x
from socialcare.platforms import sources as standard_webhooks
from socialcare.platforms.x.payloads import tweet
from socialcare.webhook.receive import Parse, decode_delivery
from tests.conftest import DEV_CONFIG, tweet_delivery, x_signature
from tests.integration.conftest import Aws, Invoke, http_event, json_of
from tests.integration.webhook_requests import (
    direct_message,
    instagram_comment,
    instagram_delivery,
    messaging_delivery,
    meta_headers,
    page_comment,
    page_delivery,
    page_post,
    review,
    source_headers,
)

FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HEADER_NAMES = [
    "content-type",
    "x-hub-signature-256",
    "x-hub-signature",
    "x-twitter-webhooks-signature",
    "x-twitter-webhooks-signature-oauth2",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
]
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", "", "APPLICATION/JSON"]
    ),
    st.text(max_size=30),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Edge values in place of a payload's own: empty and over-long ids, times that overflow, lone surrogates.
NASTY_NUMBERS = st.sampled_from([10**400, -(10**400), 10**19, 2**63, 1e308, -1, 0, "1700000000", None])
NASTY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "9" * 5000,
        "x" * 600,
        "\u0000",
        "\ud800",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        0,
    ]
)


def nasty_like(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return JSON_VALUES
    return st.one_of(NASTY_NUMBERS if isinstance(value, (int, float)) else NASTY_STRINGS, JSON_VALUES)


def paths(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a JSON document."""
    found: list[tuple[Any, Any]] = []
    keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
    for key in keys:
        found.append((node, key))
        found.extend(paths(node[key]))
    return found


@st.composite
def damaged(draw: st.DrawFn, payload: Any) -> Any:
    """The payload with up to three random edits anywhere in it: a value replaced (mostly by an edge value of
    its own type) or a key removed."""
    payload = json.loads(json.dumps(payload))
    for _ in range(draw(st.integers(0, 3))):
        places = paths(payload)
        if not places:
            break
        # A hypothesis-seeded Random picks evenly; sampled_from would favour the first place (the top key).
        parent, key = draw(st.randoms(use_true_random=False)).choice(places)
        if isinstance(parent, dict) and draw(st.integers(0, 3)) == 0:
            del parent[key]
        else:
            parent[key] = draw(nasty_like(parent[key]))
    return payload


def encoded(payload: Any, ensure_ascii: bool) -> bytes:
    # Lone surrogates are not UTF-8: with ensure_ascii=False they become invalid bytes (a sender's bug).
    return json.dumps(payload, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


VALID_PAYLOADS: dict[str, list[Any]] = {
    "XWebhookFunction": [json.loads(tweet_delivery(tweet()))],
    "MetaWebhookFunction": [
        page_delivery(page_comment(), page_comment("P1_C2", verb="edited")),
        page_delivery(
            page_post(), {"item": "comment", "verb": "remove", "comment_id": "P1_C1", "post_id": "P1"}
        ),
        instagram_delivery("comments", instagram_comment()),
        instagram_delivery("mentions", {"comment_id": "IGM1", "media_id": "MEDIA1"}),
        messaging_delivery("instagram", direct_message(), direct_message("m_2", echo=True)),
    ],
    "SourceWebhookFunction": [review(), {"type": "mention.deleted", "data": {"id": "rev-1"}}],
}
TARGETS = {
    "XWebhookFunction": "/webhooks/x",
    "MetaWebhookFunction": "/webhooks/meta",
    "SourceWebhookFunction": "/webhooks/sources/reviews",
}


def signed_headers(function: str, body: bytes, webhook_id: str) -> dict[str, str]:
    if function == "XWebhookFunction":
        return {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(body)}
    if function == "MetaWebhookFunction":
        return meta_headers(body)
    return source_headers(body, webhook_id=webhook_id)


@st.composite
def unsigned_request(draw: st.DrawFn, function: str) -> tuple[str, bytes, dict[str, str], bool]:
    """Random bytes (or random JSON) with random headers: nobody without the secret gets in."""
    body = draw(st.one_of(st.binary(max_size=300), JSON_VALUES.map(lambda v: encoded(v, True))))
    headers = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), st.text(max_size=60), max_size=6))
    headers["content-type"] = draw(CONTENT_TYPES)
    target = TARGETS[function]
    if function == "SourceWebhookFunction":
        target = "/webhooks/sources/" + draw(
            st.sampled_from(["reviews", "blog"]) | st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True)
        )
    return target, body, headers, draw(st.booleans())


@st.composite
def request_body(draw: st.DrawFn, function: str) -> bytes:
    """Random JSON, or (twice as often) a valid delivery with random damage."""
    valid = st.sampled_from(VALID_PAYLOADS[function]).flatmap(damaged)
    return encoded(draw(st.one_of(JSON_VALUES, valid, valid)), ensure_ascii=draw(st.booleans()))


@st.composite
def signed_request(draw: st.DrawFn, function: str) -> tuple[str, bytes, dict[str, str], bool]:
    """Correctly signed: random JSON, or a valid delivery with random damage, with a random content type."""
    body = draw(request_body(function))
    headers = signed_headers(function, body, draw(st.from_regex(r"msg_[A-Za-z0-9]{1,20}", fullmatch=True)))
    if draw(st.integers(0, 4)) == 0:
        headers["content-type"] = draw(CONTENT_TYPES)
    return TARGETS[function], body, headers, False


def item_counts(aws: Aws) -> tuple[int, int]:
    items = aws.items()
    return len(items), sum(1 for item in items if item.get("entity") == "mention")


@pytest.mark.parametrize("function", list(TARGETS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_no_input_makes_a_webhook_fail_or_write_what_it_refused(
    function: str,
    data: st.DataObject,
    aws: Aws,
    handlers: Callable[[str], Invoke],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(*_: Any, **__: Any) -> dict[str, Any]:
        raise meta.GraphApiError("request failed: ConnectionError")

    fetches = ("fetch_instagram_mention", "fetch_instagram_caption", "fetch_facebook_mention")
    for fetch in (*fetches, "fetch_instagram_permalink"):
        monkeypatch.setattr(meta.webhook, fetch, unreachable)
    webhook = handlers(function)
    # Mostly signed requests: unsigned ones stop at the signature check, signed ones reach every parser.
    target, body, headers, as_base64 = data.draw(
        st.one_of(unsigned_request(function), signed_request(function), signed_request(function)),
        label="request",
    )
    event = http_event("POST", target, body, headers)
    if as_base64:
        event["body"] = base64.b64encode(body).decode() if data.draw(st.booleans()) else "%not base64%"
        event["isBase64Encoded"] = True
    before = item_counts(aws)
    response = webhook(event)
    after = item_counts(aws)

    event_name = f"{response['statusCode']}"
    if response["statusCode"] == 200:
        event_name += " stored" if json_of(response)["stored"] else " nothing stored"
    hypothesis.event(event_name)
    assert response["statusCode"] < 500, response
    if response["statusCode"] != 200:
        assert 400 <= response["statusCode"] < 500 and json_of(response)["error"]
        assert after == before, "a refused request wrote something"
    else:
        assert after[1] - before[1] == json_of(response)["stored"]


# ---------------------------------------------------------------- the same bodies, many more, without moto
CONFIG: PlatformConfig = PlatformConfig.model_validate(DEV_CONFIG)
PARSERS: dict[str, Parse] = {
    "XWebhookFunction": lambda payload: x.parse_delivery(payload, x.config_of(CONFIG)),
    "MetaWebhookFunction": lambda payload: meta.parse_delivery(payload, meta.config_of(CONFIG)),
    "SourceWebhookFunction": lambda payload: standard_webhooks.parse_delivery("reviews", payload, "msg_1"),
}


@pytest.mark.parametrize("function", list(TARGETS))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_every_body_parses_to_something_storable_or_is_refused(function: str, data: st.DataObject) -> None:
    """Past the signature, every body is a Delivery that ingest can check and turn into items, or a 4xx:
    what the slow test above samples through the whole stack, checked here by the hundred."""
    body = data.draw(request_body(function), label="body")
    try:
        delivery = decode_delivery(body, {"content-type": "application/json"}, PARSERS[function])
        check_storable(delivery)
    except WebhookRejected as refusal:
        hypothesis.event(type(refusal).__name__)
        assert 400 <= refusal.status_code < 500 and refusal.message
        return
    hypothesis.event("accepted")
    fingerprint(delivery)
    for mention in [*delivery.mentions, *delivery.edits]:
        mention.conversation_id = f"{mention.platform}:{mention.thread_key}"
        assert mention_to_item(mention)["pk"] == f"MENTION#{mention.id}"
