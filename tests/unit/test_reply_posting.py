"""Posting replies over real HTTP against the in-process platform simulator: the request each platform
expects, and how throttling, outages, timeouts and refusals become RetryLater or PermanentFailure."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.simulator.server import PlatformSimulator, RecordedCall
from socialcare.models import MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import (
    DEFAULT_TIMEOUT,
    PermanentFailure,
    PostResult,
    ReplyTarget,
    RetryLater,
)
from socialcare.platforms.meta import MetaConfig
from socialcare.platforms.registry import post_reply
from socialcare.platforms.sources import SourceConfig
from socialcare.platforms.x import XConfig
from socialcare.signatures import hmac_sha256, standard_webhooks_signature

NOW = 1_714_000_000.0
X_TOKEN = "x-bearer-token-secret"
PAGE_TOKEN = "meta-page-token-secret"
APP_SECRET = "meta-app-secret"
SOURCE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PAGE_ID = "2000000001"
IG_USER_ID = "3000000001"


@pytest.fixture(scope="module")
def running_simulator() -> Iterator[PlatformSimulator]:
    with PlatformSimulator() as simulator:
        yield simulator


@pytest.fixture
def simulator(running_simulator: PlatformSimulator) -> PlatformSimulator:
    running_simulator.reset()
    return running_simulator


@pytest.fixture
def config(simulator: PlatformSimulator) -> PlatformConfig:
    return PlatformConfig(
        x=XConfig(api_base=simulator.url, bearer_token=X_TOKEN),
        meta=MetaConfig(
            app_secret=APP_SECRET,
            page_id=PAGE_ID,
            ig_user_id=IG_USER_ID,
            page_access_token=PAGE_TOKEN,
            graph_base=f"{simulator.url}/v21.0",
        ),
        sources={
            "reviews": SourceConfig(
                secret=SOURCE_SECRET, reply_url=f"{simulator.url}/sources/reviews/replies"
            )
        },
    )


def post(
    target: ReplyTarget, config: PlatformConfig, text: str = "Hi! We're on it.", **kwargs: Any
) -> PostResult:
    return post_reply(target, text, config, now=lambda: NOW, **kwargs)


def only_call(simulator: PlatformSimulator) -> RecordedCall:
    calls = simulator.calls
    assert len(calls) == 1, calls
    return calls[0]


X_POST = ReplyTarget(platform="x", kind=MentionKind.POST, external_id="1790000000000000001", author_id="42")
X_DM = ReplyTarget(platform="x", kind=MentionKind.DIRECT_MESSAGE, external_id="dm-1", author_id="42")
FACEBOOK_COMMENT = ReplyTarget(platform="facebook", kind=MentionKind.COMMENT, external_id="111_222")
INSTAGRAM_COMMENT = ReplyTarget(
    platform="instagram", kind=MentionKind.COMMENT, external_id="17850000000000001"
)
SOURCE_REVIEW = ReplyTarget(platform="reviews", kind=MentionKind.REVIEW, external_id="review-77")


# ---- request shapes
def test_x_post_replies_to_the_tweet_with_the_bearer_token(
    simulator: PlatformSimulator, config: PlatformConfig
):
    result = post(X_POST, config)
    call = only_call(simulator)
    assert (call.method, call.path) == ("POST", "/2/tweets")
    assert call.headers["authorization"] == f"Bearer {X_TOKEN}"
    assert call.headers["content-type"] == "application/json"
    assert call.body == {"text": "Hi! We're on it.", "reply": {"in_reply_to_tweet_id": "1790000000000000001"}}
    assert result.external_id.isdigit()


def test_x_direct_message_goes_to_the_conversation_with_the_author(
    simulator: PlatformSimulator, config: PlatformConfig
):
    result = post(X_DM, config, "Could you send us your order number?")
    call = only_call(simulator)
    assert call.path == "/2/dm_conversations/with/42/messages"
    assert call.headers["authorization"] == f"Bearer {X_TOKEN}"
    assert call.body == {"text": "Could you send us your order number?"}
    assert result.external_id.isdigit()


def meta_auth() -> dict[str, str]:
    return {"access_token": PAGE_TOKEN, "appsecret_proof": hmac_sha256(APP_SECRET, PAGE_TOKEN).hex()}


@pytest.mark.parametrize("kind", [MentionKind.COMMENT, MentionKind.POST])
def test_facebook_comments_under_the_comment_or_post(
    simulator: PlatformSimulator, config: PlatformConfig, kind: MentionKind
):
    result = post(FACEBOOK_COMMENT.model_copy(update={"kind": kind}), config)
    call = only_call(simulator)
    assert call.path == "/v21.0/111_222/comments"
    assert call.body == {"message": "Hi! We're on it.", **meta_auth()}
    assert result.external_id.startswith("111_222_")


def test_instagram_comment_gets_a_reply(simulator: PlatformSimulator, config: PlatformConfig):
    result = post(INSTAGRAM_COMMENT, config)
    call = only_call(simulator)
    assert call.path == "/v21.0/17850000000000001/replies"
    assert call.body == {"message": "Hi! We're on it.", **meta_auth()}
    assert result.external_id.isdigit()


def test_a_reply_to_an_instagram_reply_goes_under_the_top_level_comment(
    simulator: PlatformSimulator, config: PlatformConfig
):
    post(INSTAGRAM_COMMENT.model_copy(update={"parent_id": "17850000000000000"}), config)
    assert only_call(simulator).path == "/v21.0/17850000000000000/replies"


def test_instagram_comment_mention_uses_the_mentions_edge(
    simulator: PlatformSimulator, config: PlatformConfig
):
    target = INSTAGRAM_COMMENT.model_copy(update={"via_mention": True, "media_id": "17900000000000009"})
    result = post(target, config)
    call = only_call(simulator)
    assert call.path == f"/v21.0/{IG_USER_ID}/mentions"
    assert call.body == {
        "media_id": "17900000000000009",
        "comment_id": "17850000000000001",
        "message": "Hi! We're on it.",
        **meta_auth(),
    }
    assert result.external_id.isdigit()


def test_instagram_caption_mention_comments_on_the_media(
    simulator: PlatformSimulator, config: PlatformConfig
):
    target = ReplyTarget(
        platform="instagram",
        kind=MentionKind.POST,
        external_id="17900000000000009",
        via_mention=True,
    )
    post(target, config)
    assert only_call(simulator).body == {
        "media_id": "17900000000000009",
        "message": "Hi! We're on it.",
        **meta_auth(),
    }


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_meta_direct_messages_use_the_human_agent_tag(
    simulator: PlatformSimulator, config: PlatformConfig, platform: str
):
    target = ReplyTarget(
        platform=platform, kind=MentionKind.DIRECT_MESSAGE, external_id="m_1", author_id="PSID9"
    )
    result = post(target, config)
    call = only_call(simulator)
    assert call.path == f"/v21.0/{PAGE_ID}/messages"
    assert call.body == {
        "recipient": {"id": "PSID9"},
        "message": {"text": "Hi! We're on it."},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        **meta_auth(),
    }
    assert result.external_id.startswith("m_")


def test_source_reply_is_signed_with_standard_webhooks(simulator: PlatformSimulator, config: PlatformConfig):
    result = post(SOURCE_REVIEW, config, "Thank you for the review — we fixed it.")
    call = only_call(simulator)
    assert call.path == "/sources/reviews/replies"
    message_id, timestamp = call.headers["webhook-id"], call.headers["webhook-timestamp"]
    assert message_id.startswith("msg_") and len(message_id) == 4 + 32
    assert timestamp == str(int(NOW))
    expected = standard_webhooks_signature(SOURCE_SECRET, message_id, timestamp, call.raw_body.encode())
    assert call.headers["webhook-signature"] == expected
    assert call.headers["content-type"] == "application/json"
    assert call.body["type"] == "reply.created"
    assert call.body["data"] == {
        "in_reply_to": "review-77",
        "text": "Thank you for the review — we fixed it.",
        "created_at": "2024-04-24T23:06:40+00:00",
    }
    assert result.external_id.startswith("reply_")


def test_every_source_reply_has_a_fresh_webhook_id(simulator: PlatformSimulator, config: PlatformConfig):
    post(SOURCE_REVIEW, config)
    post(SOURCE_REVIEW, config)
    first, second = (call.headers["webhook-id"] for call in simulator.calls)
    assert first != second


@pytest.mark.parametrize(("status", "body"), [(202, {"accepted": True}), (204, None)])
def test_a_source_answer_without_an_id_falls_back_to_the_webhook_id(
    simulator: PlatformSimulator, config: PlatformConfig, status: int, body: Any
):
    simulator.fail_next(1, status, json_body=body)
    result = post(SOURCE_REVIEW, config)
    assert result.external_id == only_call(simulator).headers["webhook-id"]


def test_a_target_reply_url_overrides_the_configured_one(
    simulator: PlatformSimulator, config: PlatformConfig
):
    post(
        SOURCE_REVIEW.model_copy(update={"reply_url": f"{simulator.url}/sources/reviews/replies?thread=9"}),
        config,
    )
    assert only_call(simulator).query == {"thread": ["9"]}


def test_every_request_has_the_default_timeouts(simulator: PlatformSimulator, config: PlatformConfig):
    timeouts: list[object] = []

    class WatchedSession(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            timeouts.append(kwargs.get("timeout"))
            return super().request(*args, **kwargs)

    with WatchedSession() as session:
        for target in (X_POST, X_DM, FACEBOOK_COMMENT, INSTAGRAM_COMMENT, SOURCE_REVIEW):
            post_reply(target, "Hello", config, session=session)
    assert timeouts == [DEFAULT_TIMEOUT] * 5 == [(3.05, 10.0)] * 5


# ---- throttling and temporary failures
def test_x_429_waits_until_the_rate_limit_reset(simulator: PlatformSimulator, config: PlatformConfig):
    simulator.fail_next(
        1, 429, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 120)}
    )
    with pytest.raises(RetryLater) as caught:
        post(X_POST, config)
    assert caught.value.retry_after_s == 120


def test_x_429_on_the_daily_user_cap_waits_for_its_own_reset(
    simulator: PlatformSimulator, config: PlatformConfig
):
    headers = {
        "x-rate-limit-reset": str(int(NOW) + 60),
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(int(NOW) + 7200),
    }
    simulator.fail_next(1, 429, headers=headers)
    with pytest.raises(RetryLater) as caught:
        post(X_POST, config)
    assert caught.value.retry_after_s == 7200


def test_a_reset_in_the_past_means_retry_now(simulator: PlatformSimulator, config: PlatformConfig):
    simulator.fail_next(1, 429, headers={"x-rate-limit-reset": str(int(NOW) - 5)})
    with pytest.raises(RetryLater) as caught:
        post(X_DM, config)
    assert caught.value.retry_after_s == 0


@pytest.mark.parametrize("target", [X_POST, FACEBOOK_COMMENT, INSTAGRAM_COMMENT, SOURCE_REVIEW])
def test_server_errors_are_retried(simulator: PlatformSimulator, config: PlatformConfig, target: ReplyTarget):
    simulator.fail_next(1, 500)
    with pytest.raises(RetryLater) as caught:
        post(target, config)
    assert caught.value.retry_after_s is None
    assert not caught.value.maybe_delivered


def test_retry_after_header_is_honoured(simulator: PlatformSimulator, config: PlatformConfig):
    simulator.fail_next(1, 503, headers={"Retry-After": "30"})
    with pytest.raises(RetryLater) as caught:
        post(SOURCE_REVIEW, config)
    assert caught.value.retry_after_s == 30


def test_a_slow_platform_times_out_into_retry_later(simulator: PlatformSimulator, config: PlatformConfig):
    simulator.delay_next(1.0)
    with pytest.raises(RetryLater) as caught:
        post(X_POST, config, timeout=(1.0, 0.1))
    # The request reached the platform: it may have posted, so the sender must check before repeating.
    assert caught.value.maybe_delivered
    assert len(simulator.calls) == 1


def test_an_unreachable_platform_is_retried(config: PlatformConfig):
    with PlatformSimulator() as closed:
        url = closed.url
    gone = config.model_copy(update={"x": XConfig(api_base=url, bearer_token=X_TOKEN)})
    with pytest.raises(RetryLater) as caught:
        post(X_POST, gone)
    assert not caught.value.maybe_delivered


def meta_error(
    code: int, subcode: int | None = None, message: str = "Something went wrong"
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_meta_throttling_codes_are_retried(simulator: PlatformSimulator, config: PlatformConfig, code: int):
    simulator.fail_next(1, 400 if code != 4 else 403, json_body=meta_error(code, message="Too many calls"))
    with pytest.raises(RetryLater) as caught:
        post(FACEBOOK_COMMENT, config)
    assert str(code) in caught.value.reason


def test_meta_throttling_waits_as_long_as_meta_says(simulator: PlatformSimulator, config: PlatformConfig):
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    simulator.fail_next(
        1, 400, json_body=meta_error(80001), headers={"x-business-use-case-usage": json.dumps(usage)}
    )
    with pytest.raises(RetryLater) as caught:
        post(INSTAGRAM_COMMENT, config)
    assert caught.value.retry_after_s == 7 * 60


# ---- permanent failures
def test_meta_invalid_token_alerts_leads_without_leaking_it(
    simulator: PlatformSimulator, config: PlatformConfig
):
    simulator.fail_next(1, 400, json_body=meta_error(190, 463, f"Error validating access token {PAGE_TOKEN}"))
    with pytest.raises(PermanentFailure) as caught:
        post(FACEBOOK_COMMENT, config)
    assert caught.value.code == "meta_invalid_token"
    assert caught.value.alert_leads
    assert PAGE_TOKEN not in str(caught.value) and "[redacted]" in caught.value.reason


@pytest.mark.parametrize(
    ("code", "subcode", "expected_code", "alert_leads"),
    [
        (100, 33, "meta_deleted_object", False),
        (10, None, "meta_permission", True),
        (200, None, "meta_permission", True),
        (10, 2018278, "meta_outside_window", False),
        (368, None, "meta_368", False),
    ],
)
def test_meta_refusals_are_permanent(
    simulator: PlatformSimulator,
    config: PlatformConfig,
    code: int,
    subcode: int | None,
    expected_code: str,
    alert_leads: bool,
):
    simulator.fail_next(1, 400, json_body=meta_error(code, subcode))
    target = ReplyTarget(platform="facebook", kind=MentionKind.DIRECT_MESSAGE, external_id="m", author_id="P")
    with pytest.raises(PermanentFailure) as caught:
        post(target, config)
    assert (caught.value.code, caught.value.alert_leads) == (expected_code, alert_leads)
    assert len(simulator.calls) == 1  # never retried inside post_reply


@pytest.mark.parametrize(
    ("status", "detail", "expected_code", "alert_leads"),
    [
        (400, "text is too long", "x_400", False),
        (403, "You are not allowed to create a Tweet with duplicate content.", "x_403", False),
        (404, "Could not find tweet", "x_404", False),
        (401, f"Unauthorized: bad token {X_TOKEN}", "x_401", True),
    ],
)
def test_x_refusals_are_permanent(
    simulator: PlatformSimulator,
    config: PlatformConfig,
    status: int,
    detail: str,
    expected_code: str,
    alert_leads: bool,
):
    simulator.fail_next(1, status, json_body={"title": "Refused", "status": status, "detail": detail})
    with pytest.raises(PermanentFailure) as caught:
        post(X_POST, config)
    assert (caught.value.code, caught.value.alert_leads) == (expected_code, alert_leads)
    assert X_TOKEN not in caught.value.reason
    assert detail.split(":")[0] in caught.value.reason


@pytest.mark.parametrize(("status", "alert_leads"), [(401, True), (403, True), (404, False), (410, False)])
def test_source_refusals_are_permanent(
    simulator: PlatformSimulator, config: PlatformConfig, status: int, alert_leads: bool
):
    simulator.fail_next(1, status, json_body={"error": "no"})
    with pytest.raises(PermanentFailure) as caught:
        post(SOURCE_REVIEW, config)
    assert (caught.value.code, caught.value.alert_leads) == (f"http_{status}", alert_leads)


def test_a_redirect_is_not_followed(simulator: PlatformSimulator, config: PlatformConfig):
    simulator.fail_next(
        1, 302, json_body={}, headers={"Location": f"{simulator.url}/sources/reviews/replies"}
    )
    with pytest.raises(PermanentFailure) as caught:
        post(SOURCE_REVIEW, config)
    assert caught.value.code == "http_302"
    assert len(simulator.calls) == 1


@pytest.mark.parametrize(
    ("target", "change"),
    [
        (X_POST, {"x": XConfig(bearer_token="")}),
        (FACEBOOK_COMMENT, {"meta": MetaConfig(page_access_token="")}),
        (SOURCE_REVIEW, {"sources": {}}),
        (SOURCE_REVIEW, {"sources": {"reviews": SourceConfig(secret=SOURCE_SECRET, reply_url="")}}),
    ],
)
def test_missing_configuration_alerts_leads_without_calling_anyone(
    simulator: PlatformSimulator, config: PlatformConfig, target: ReplyTarget, change: dict[str, Any]
):
    with pytest.raises(PermanentFailure) as caught:
        post(target, config.model_copy(update=change))
    assert (caught.value.code, caught.value.alert_leads) == ("not_configured", True)
    assert simulator.calls == []


# ---- the simulator's own HTTP controls, as the local stack uses them
def test_the_simulator_is_driven_over_http(simulator: PlatformSimulator, config: PlatformConfig):
    failure = {"count": 1, "status": 400, "body": meta_error(190), "headers": {"x-app-usage": "{}"}}
    assert requests.post(f"{simulator.url}/_simulator/fail", json=failure, timeout=5).status_code == 204
    with pytest.raises(PermanentFailure):
        post(FACEBOOK_COMMENT, config)
    post(FACEBOOK_COMMENT, config)  # the injected failure was used up
    recorded = requests.get(f"{simulator.url}/_simulator/calls", timeout=5).json()
    assert [call["path"] for call in recorded] == ["/v21.0/111_222/comments"] * 2
    assert recorded[0]["body"]["message"] == "Hi! We're on it."
    assert requests.delete(f"{simulator.url}/_simulator/calls", timeout=5).status_code == 204
    assert simulator.calls == []
