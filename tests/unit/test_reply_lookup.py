"""The look-up of an answer whose outcome is unknown, per adapter, against the platform simulator: an answer
that really landed is found (by its thread and text, from the brand), anything else is not, and a look-up
the platform cannot answer is a RetryLater, never a guess."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from infra.simulator.server import PlatformSimulator
from socialcare.models import MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import ReplyTarget, RetryLater
from socialcare.platforms.registry import find_reply, post_reply

SINCE = datetime.now(UTC) - timedelta(minutes=1)
TEXT = "Sorry about that, Carol: a new pair is on its way."


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
    return PlatformConfig.model_validate(
        {
            "x": {"api_base": simulator.url, "bearer_token": "t", "brand_user_id": "1000000001"},
            "meta": {
                "page_id": "2000000001",
                "ig_user_id": "3000000001",
                "page_access_token": "p",
                "graph_base": f"{simulator.url}/v21.0",
            },
            "sources": {
                "reviews": {
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "reply_url": f"{simulator.url}/sources/reviews/replies",
                }
            },
        }
    )


TARGETS = {
    "x post": ReplyTarget(
        platform="x", kind=MentionKind.POST, external_id="1790000000000000001", author_id="42"
    ),
    "x dm": ReplyTarget(platform="x", kind=MentionKind.DIRECT_MESSAGE, external_id="dm-1", author_id="42"),
    "facebook comment": ReplyTarget(platform="facebook", kind=MentionKind.COMMENT, external_id="111_222"),
    "instagram comment": ReplyTarget(
        platform="instagram", kind=MentionKind.COMMENT, external_id="17850000000000001"
    ),
    "messenger": ReplyTarget(
        platform="facebook", kind=MentionKind.DIRECT_MESSAGE, external_id="m_1", author_id="PSID9"
    ),
    "instagram dm": ReplyTarget(
        platform="instagram", kind=MentionKind.DIRECT_MESSAGE, external_id="m_2", author_id="IGSID9"
    ),
}


@pytest.mark.parametrize("name", list(TARGETS))
def test_an_answer_that_landed_is_found_with_its_id(name: str, config: PlatformConfig) -> None:
    target = TARGETS[name]
    assert find_reply(target, TEXT, SINCE, config) is None  # nothing posted yet
    posted = post_reply(target, TEXT, config)
    assert find_reply(target, TEXT, SINCE, config) == posted.external_id


@pytest.mark.parametrize("name", list(TARGETS))
def test_another_text_or_another_thread_is_not_our_answer(name: str, config: PlatformConfig) -> None:
    target = TARGETS[name]
    post_reply(target, TEXT, config)
    assert find_reply(target, "Something else entirely", SINCE, config) is None
    elsewhere = target.model_copy(update={"external_id": "other-1", "author_id": "someone-else"})
    assert find_reply(elsewhere, TEXT, SINCE, config) is None


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_look_up_the_platform_cannot_answer_is_retry_later(
    name: str, config: PlatformConfig, simulator: PlatformSimulator
) -> None:
    simulator.fail_next(1, 503)
    with pytest.raises(RetryLater) as caught:
        find_reply(TARGETS[name], TEXT, SINCE, config)
    assert not caught.value.maybe_delivered  # a GET changes nothing on the platform


def test_the_x_look_up_asks_for_the_brands_recent_posts_with_their_references(
    config: PlatformConfig, simulator: PlatformSimulator
) -> None:
    find_reply(TARGETS["x post"], TEXT, SINCE, config)
    (call,) = simulator.calls
    assert call.method == "GET" and call.path == "/2/users/1000000001/tweets"
    assert call.query["tweet.fields"] == ["referenced_tweets,created_at"]
    assert call.query["start_time"] == [(SINCE - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")]


def test_every_attempt_of_one_source_reply_carries_the_same_webhook_id(
    config: PlatformConfig, simulator: PlatformSimulator
) -> None:
    target = ReplyTarget(platform="reviews", kind=MentionKind.REVIEW, external_id="review-77")
    first = post_reply(target, TEXT, config, idempotency_key="reply-1")
    again = post_reply(target, TEXT, config, idempotency_key="reply-1")
    other = post_reply(target, TEXT, config, idempotency_key="reply-2")
    ids = [call.headers["webhook-id"] for call in simulator.calls]
    assert ids[0] == ids[1] != ids[2]
    assert first.external_id == again.external_id != other.external_id  # the source drops the repeat
    assert find_reply(target, TEXT, SINCE, config) is None  # nothing to ask: repeating is safe


def test_an_instagram_comments_media_link_comes_from_the_simulated_graph_api(
    config: PlatformConfig, simulator: PlatformSimulator
) -> None:
    """`make run`'s Instagram comments get an "Open on Instagram" link: the simulator answers the media's
    permalink as the Graph API does."""
    from socialcare.platforms import meta
    from socialcare.platforms.meta import payloads

    [mention] = meta.parse_delivery(
        payloads.instagram_delivery(
            "comments", payloads.instagram_comment(media_id="17900000000000007"), entry_id="3000000001"
        ),
        config.section("meta", meta.MetaConfig),
    ).mentions
    fetch = meta.MetaPlatform().text_fetcher(config, 2)
    assert fetch is not None
    assert fetch(mention) == {"url": "https://www.instagram.com/p/17900000000000007/"}
    [call] = simulator.calls
    assert (call.method, call.path, call.query["fields"]) == (
        "GET",
        "/v21.0/17900000000000007",
        ["permalink"],
    )
