"""Google reviews' access token over real HTTP against the in-process simulator: the refresh flow
(`POST .../token`, form-encoded `grant_type=refresh_token`) is asked once and its token reused until shortly
before it expires; a refused refresh token needs a person and posts nothing; a fixed access_token still
works without the token endpoint."""

from collections.abc import Iterator
from typing import Any

import pytest

from infra.simulator.server import PlatformSimulator
from socialcare.models import MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import NeedsConfiguration, ReplyTarget
from socialcare.platforms.google_reviews import oauth, payloads
from socialcare.platforms.registry import post_reply

pytestmark = pytest.mark.unit

NOW = 1_714_000_000.0
NAME = payloads.review_name("rev7")


@pytest.fixture(scope="module")
def running_simulator() -> Iterator[PlatformSimulator]:
    with PlatformSimulator() as simulator:
        yield simulator


@pytest.fixture
def simulator(running_simulator: PlatformSimulator) -> Iterator[PlatformSimulator]:
    running_simulator.reset()
    oauth.forget_tokens()
    yield running_simulator
    oauth.forget_tokens()


def config(simulator: PlatformSimulator, **google: str) -> PlatformConfig:
    section: dict[str, Any] = {
        "api_base": f"{simulator.url}/google-api/v4",
        "token_url": f"{simulator.url}/google-oauth/token",
        **google,
    }
    return PlatformConfig.model_validate({"google_reviews": section})


REFRESHING = {"client_id": "cid", "client_secret": "client-secret-1", "refresh_token": "refresh-secret-1"}
TARGET = ReplyTarget(platform="google", kind=MentionKind.REVIEW, external_id="rev7", refs={"review": NAME})


def answer(simulator: PlatformSimulator, platform_config: PlatformConfig, at: float) -> None:
    post_reply(TARGET, "Thank you, Dana.", platform_config, now=lambda: at)


def token_calls(simulator: PlatformSimulator) -> list[Any]:
    return [c for c in simulator.calls if c.path == "/google-oauth/token"]


def put_tokens(simulator: PlatformSimulator) -> list[str]:
    return [c.headers["authorization"] for c in simulator.calls if c.method == "PUT"]


def test_the_refreshed_token_is_reused_until_shortly_before_it_expires(simulator: PlatformSimulator) -> None:
    platform_config = config(simulator, **REFRESHING)
    answer(simulator, platform_config, NOW)
    answer(simulator, platform_config, NOW + 3000)  # 3,599 s minus the 5-minute margin: still good

    (refresh,) = token_calls(simulator)
    assert refresh.method == "POST"
    assert refresh.headers["content-type"] == "application/x-www-form-urlencoded"
    assert refresh.body == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "client-secret-1",
        "refresh_token": "refresh-secret-1",
    }
    issued = refresh.answer["access_token"]
    assert put_tokens(simulator) == [f"Bearer {issued}", f"Bearer {issued}"]

    answer(simulator, platform_config, NOW + 3400)  # within the margin: a new token first
    assert len(token_calls(simulator)) == 2
    renewed = token_calls(simulator)[-1].answer["access_token"]
    assert renewed != issued and put_tokens(simulator)[-1] == f"Bearer {renewed}"


def test_a_refused_refresh_token_needs_a_person_and_posts_nothing(simulator: PlatformSimulator) -> None:
    platform_config = config(simulator, **{**REFRESHING, "refresh_token": "revoked"})
    with pytest.raises(NeedsConfiguration) as refused:
        answer(simulator, platform_config, NOW)
    assert "google_reviews.refresh_token" in refused.value.reason
    assert "invalid_grant" in refused.value.reason
    assert "client-secret-1" not in refused.value.reason
    assert put_tokens(simulator) == []


def test_a_fixed_access_token_is_used_as_it_is(simulator: PlatformSimulator) -> None:
    answer(simulator, config(simulator, access_token="fixed-token"), NOW)
    assert token_calls(simulator) == []
    assert put_tokens(simulator) == ["Bearer fixed-token"]


def test_with_neither_replies_need_configuration(simulator: PlatformSimulator) -> None:
    with pytest.raises(NeedsConfiguration) as missing:
        answer(simulator, config(simulator), NOW)
    assert "google_reviews.refresh_token" in missing.value.reason
    assert simulator.calls == []
