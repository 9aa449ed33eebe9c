"""Each platform's credential check reads the platform's own answer: X's who-am-I, Meta's token debug
look-up, a source's reply URL. The session is a stand-in that answers as the platform would."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from socialcare.credentials import check_credentials, credentials_email
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.meta.config import MetaConfig
from socialcare.platforms.meta.credentials import check_meta
from socialcare.platforms.sources.config import SourceConfig
from socialcare.platforms.sources.credentials import check_source
from socialcare.platforms.x.config import XConfig
from socialcare.platforms.x.credentials import check_x

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
X = XConfig(consumer_secret="c", brand_user_id="1000000001", bearer_token="SECRET-X-TOKEN")
META = MetaConfig(app_secret="a", page_id="2", page_access_token="SECRET-PAGE-TOKEN")


class Platform:
    """Answers every GET with one status and JSON body (or raises), and remembers what was asked."""

    def __init__(self, status: int = 200, body: Any = None, error: Exception | None = None) -> None:
        self.status, self.body, self.error = status, body, error
        self.asked: list[dict[str, Any]] = []

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.asked.append({"url": url, **kwargs})
        if self.error:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.body).encode()
        return response


def session(platform: Platform) -> requests.Session:
    return platform  # type: ignore[return-value]


def test_x_token_that_answers_as_the_brand_is_fine() -> None:
    platform = Platform(200, {"data": {"id": "1000000001", "username": "brand"}})
    assert check_x(X, session(platform)) == []
    assert platform.asked[0]["headers"]["authorization"] == "Bearer SECRET-X-TOKEN"


def test_x_token_refused_or_of_another_account_names_the_key() -> None:
    (refused,) = check_x(X, session(Platform(401, {"title": "Unauthorized"})))
    assert refused.key == "x.bearer_token" and refused.blocking and "401" in refused.problem
    (other,) = check_x(X, session(Platform(200, {"data": {"id": "999"}})))
    assert other.key == "x.bearer_token" and "not x.brand_user_id" in other.problem


def test_x_unreachable_warns_without_blocking_and_never_shows_the_token() -> None:
    (problem,) = check_x(X, session(Platform(error=requests.ConnectionError("SECRET-X-TOKEN in a trace"))))
    assert not problem.blocking and "ConnectionError" in problem.problem
    assert "SECRET" not in json.dumps(problem.to_dict())


def test_meta_token_invalid_expiring_or_fine() -> None:
    expired = {"data": {"is_valid": False, "expires_at": int((NOW - timedelta(days=1)).timestamp())}}
    (dead,) = check_meta(META, session(Platform(200, expired)), NOW)
    assert dead.key == "meta.page_access_token" and dead.blocking and "invalid or expired" in dead.problem

    soon = {"data": {"is_valid": True, "expires_at": int((NOW + timedelta(days=3)).timestamp())}}
    (expiring,) = check_meta(META, session(Platform(200, soon)), NOW)
    assert not expiring.blocking and "expires in 3 days" in expiring.problem

    later = {"data": {"is_valid": True, "expires_at": int((NOW + timedelta(days=30)).timestamp())}}
    assert check_meta(META, session(Platform(200, later)), NOW) == []
    assert check_meta(META, session(Platform(200, {"data": {"is_valid": True, "expires_at": 0}})), NOW) == []


def test_meta_look_up_uses_the_app_token_when_the_app_id_is_known() -> None:
    platform = Platform(200, {"data": {"is_valid": True, "expires_at": 0}})
    check_meta(META.model_copy(update={"app_id": "77"}), session(platform), NOW)
    params = platform.asked[0]["params"]
    assert params == {"input_token": "SECRET-PAGE-TOKEN", "access_token": "77|a"}
    assert platform.asked[0]["url"].endswith("/debug_token")


def test_source_reply_url_must_answer() -> None:
    source = SourceConfig(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", reply_url="https://s.example/r")
    assert check_source("reviews", source, session(Platform(405, {}))) == []
    (gone,) = check_source("reviews", source, session(Platform(404, {})))
    assert gone.key == "sources.reviews.reply_url" and gone.blocking
    (empty,) = check_source("reviews", source.model_copy(update={"reply_url": ""}), session(Platform()))
    assert "is empty" in empty.problem


def test_only_configured_platforms_are_checked_and_the_email_names_keys() -> None:
    config = PlatformConfig.model_validate({"meta": META.model_dump()})
    report = check_credentials(config, session(Platform(200, {"data": {"is_valid": False}})), NOW)
    assert report.checked == ["meta"] and [p.key for p in report.blocking] == ["meta.page_access_token"]
    subject, body = credentials_email(report.problems)
    assert subject.isascii() and len(subject) < 100 and "1 failing" in subject
    assert "meta.page_access_token" in body and "What to do:" in body and "SECRET" not in body
