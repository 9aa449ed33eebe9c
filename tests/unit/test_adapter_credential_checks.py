"""The credentials check asks the adapters that check their own credential (Threads, Google reviews,
Bluesky), over real HTTP against the in-process simulator: good credentials pass, a refused one names its
key and what to do (blocking), a platform that does not answer is a warning, an unused one is not checked."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.system import free_port
from infra.simulator.server import PlatformSimulator, point_at_simulator
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.bluesky.client import forget_sessions
from socialcare.platforms.credentials import check_credentials, configuration_gaps
from socialcare.platforms.google_reviews import oauth

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEV_CONFIG = Path(__file__).resolve().parents[2] / "infra" / "dev-config.json"
BLUESKY = {"handle": "brand.bsky.social", "app_password": "dev", "service": "http://127.0.0.1:4000"}


@pytest.fixture(scope="module")
def simulator() -> Iterator[PlatformSimulator]:
    with PlatformSimulator() as running:
        yield running


@pytest.fixture
def document(simulator: PlatformSimulator) -> Iterator[dict[str, Any]]:
    simulator.reset()
    oauth.forget_tokens()
    forget_sessions()
    yield point_at_simulator({**json.loads(DEV_CONFIG.read_text()), "bluesky": BLUESKY}, simulator.url)
    forget_sessions()


def check(document: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    with requests.Session() as session:
        report = check_credentials(PlatformConfig.model_validate(document), session, NOW)
    return report.checked, {problem.key: problem for problem in report.problems}


def test_good_credentials_of_threads_google_reviews_and_bluesky_pass(
    simulator: PlatformSimulator, document: dict[str, Any]
) -> None:
    checked, problems = check(document)
    assert {"threads", "google_reviews", "bluesky"} <= set(checked)
    assert problems == {}
    asked = {(c.method, c.path) for c in simulator.calls}
    assert ("GET", "/threads-api/v1.0/me") in asked
    assert ("POST", "/google-oauth/token") in asked
    assert ("POST", "/xrpc/com.atproto.server.createSession") in asked


def test_refused_credentials_name_their_key_and_block(document: dict[str, Any]) -> None:
    document["threads"]["access_token"] = "expired"
    document["google_reviews"]["refresh_token"] = "revoked"
    document["bluesky"]["app_password"] = "wrong"

    _, problems = check(document)

    assert {"threads.access_token", "google_reviews.refresh_token", "bluesky.app_password"} <= problems.keys()
    for key in ("threads.access_token", "google_reviews.refresh_token", "bluesky.app_password"):
        assert problems[key].blocking, key
        assert key in problems[key].action
    assert "invalid_grant" in problems["google_reviews.refresh_token"].problem
    shown = json.dumps([p.to_dict() for p in problems.values()])
    assert "dev-google-client-secret" not in shown and "dev-threads-app-secret" not in shown


def test_a_platform_that_does_not_answer_is_a_warning(document: dict[str, Any]) -> None:
    document["bluesky"]["service"] = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    _, problems = check(document)
    assert problems["bluesky.service"].blocking is False


def test_a_fixed_google_token_warns_that_it_dies_within_the_hour(document: dict[str, Any]) -> None:
    google = document["google_reviews"]
    for key in ("client_id", "client_secret", "refresh_token"):
        google.pop(key)
    google["access_token"] = "fixed"
    _, problems = check(document)
    assert problems["google_reviews.access_token"].blocking is False
    assert "within the hour" in problems["google_reviews.access_token"].problem


def test_platforms_not_in_use_are_not_checked(simulator: PlatformSimulator, document: dict[str, Any]) -> None:
    for section in ("threads", "google_reviews", "bluesky"):
        document.pop(section)
    checked, _ = check(document)
    assert not {"threads", "google_reviews", "bluesky"} & set(checked)
    assert not [c for c in simulator.calls if "threads" in c.path or "google" in c.path or "xrpc" in c.path]


def test_doctor_names_each_platforms_missing_keys_and_leaves_unused_ones_as_warnings() -> None:
    document = json.loads(DEV_CONFIG.read_text())
    rows = {what: (status, detail) for what, status, detail in configuration_gaps(document)}
    assert {what for what, (status, _) in rows.items() if status == "ok"} >= {
        "config x", "config meta", "config threads", "config google_reviews", "config source reviews",
    }  # fmt: skip
    assert rows["config bluesky"] == ("warn", "not configured (not in use)")

    document["threads"] = {"app_secret": "s"}
    document["bluesky"] = {"handle": "brand.bsky.social"}
    document["google_reviews"] = {"audience": "https://example.com/hook", "access_token": "t"}
    rows = {what: (status, detail) for what, status, detail in configuration_gaps(document)}
    assert rows["config threads"] == (
        "fail", "missing or empty: threads.verify_token, threads.user_id, threads.access_token",
    )  # fmt: skip
    assert rows["config bluesky"] == ("fail", "missing or empty: bluesky.app_password")
    assert rows["config google_reviews"] == ("ok", "complete"), "a fixed access token is the other way"

    nothing = configuration_gaps({})
    assert ("config", "fail", "no platform is configured: fill in the configuration") in nothing
