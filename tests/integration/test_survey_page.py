"""The customer's survey page through its handler, in-process against moto: opening records nothing, a
choice is a form post from our own page with its nonce, the customer may change it, the comment is escaped,
unknown and expired links are 404 and 410, and the rating reaches the report exactly once."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest

from socialcare.data import table
from socialcare.data.surveys import Survey, SurveyStore
from socialcare.replies.tokens import hash_token, new_token
from tests.integration.conftest import Aws, Invoke, http_event
from tests.integration.test_measures import measures_records, report_today

pytestmark = pytest.mark.integration

HOST = "127.0.0.1:3000"
NOW = datetime.now(UTC).replace(microsecond=0)
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def survey_for(token: str, sent_at: datetime = NOW) -> Survey:
    return Survey(
        survey_id=f"srv-{hash_token(token)[:12]}",
        token_hash=hash_token(token),
        mention_id="x-1850000000000000001",
        platform="x",
        priority="normal",
        agent="alice@example.com",
        received_at=sent_at - timedelta(hours=2),
        state="sent",
        sent_at=sent_at,
        valid_until=sent_at + timedelta(days=14),
    )


@pytest.fixture
def page(aws: Aws, handlers: Callable[[str], Invoke]) -> Invoke:
    return handlers("SurveyPageFunction")


@pytest.fixture
def token(aws: Aws) -> str:
    token = new_token()
    assert SurveyStore(table(aws.table_name)).put(survey_for(token))
    return token


def get(page: Invoke, token: str, **headers: str) -> dict[str, Any]:
    return page(http_event("GET", f"/s/{token}", headers={"host": HOST, **headers}))


def post(page: Invoke, token: str, fields: dict[str, str], **headers: str) -> dict[str, Any]:
    base = {
        "host": HOST,
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "same-origin",
    }
    body = urlencode(fields).encode()
    return page(http_event("POST", f"/s/{token}", body=body, headers={**base, **headers}))


def nonce_of(response: dict[str, Any]) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', response["body"])
    assert found, response["body"]
    return unescape(found.group(1))


def stored(aws: Aws, token: str) -> Survey:
    survey = SurveyStore(table(aws.table_name)).get(token)
    assert survey is not None
    return survey


def test_opening_asks_with_five_choices_and_records_nothing(aws: Aws, page: Invoke, token: str) -> None:
    before = aws.items()
    for _ in range(3):  # a link scanner, a preview, the customer
        shown = get(page, token)
        assert shown["statusCode"] == 200
    assert aws.items() == before
    assert "How did we do?" in shown["body"]
    assert len(re.findall(r'name="rating" value="[1-5]"', shown["body"])) == 5
    assert "<script" not in shown["body"]
    policy = shown["headers"]["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "form-action 'self'" in policy


def test_one_tap_rates_and_a_later_tap_changes_the_rating(aws: Aws, page: Invoke, token: str) -> None:
    rated = post(page, token, {"nonce": nonce_of(get(page, token)), "rating": "2"})
    assert rated["statusCode"] == 200 and "Thank you" in rated["body"]
    assert (stored(aws, token).rating, stored(aws, token).rating_version) == (2, 1)
    changed = post(page, token, {"nonce": nonce_of(rated), "rating": "5"})
    assert changed["statusCode"] == 200
    assert (stored(aws, token).rating, stored(aws, token).rating_version) == (5, 2)


def test_a_cross_site_or_nonce_less_post_is_refused_and_changes_nothing(
    aws: Aws, page: Invoke, token: str
) -> None:
    nonce = nonce_of(get(page, token))
    assert (
        post(page, token, {"nonce": nonce, "rating": "1"}, **{"sec-fetch-site": "cross-site"})["statusCode"]
        == 403
    )
    evil = {"sec-fetch-site": "", "origin": "https://evil.example"}
    assert post(page, token, {"nonce": nonce, "rating": "1"}, **evil)["statusCode"] == 403
    assert post(page, token, {"nonce": "1.forged", "rating": "1"})["statusCode"] == 403
    other = new_token()  # a nonce rendered for another survey does not work here
    assert SurveyStore(table(aws.table_name)).put(survey_for(other))
    assert post(page, token, {"nonce": nonce_of(get(page, other)), "rating": "1"})["statusCode"] == 403
    assert stored(aws, token).rating is None


def test_the_comment_is_stored_and_shown_escaped(aws: Aws, page: Invoke, token: str) -> None:
    rated = post(page, token, {"nonce": nonce_of(get(page, token)), "rating": "4"})
    commented = post(page, token, {"nonce": nonce_of(rated), "comment": HOSTILE})
    assert commented["statusCode"] == 200
    assert stored(aws, token).comment == HOSTILE
    assert "<script>alert(1)" not in commented["body"] and "<img" not in commented["body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in commented["body"]
    latest = SurveyStore(table(aws.table_name)).latest_comments()
    assert [s.comment for s in latest] == [HOSTILE]


def test_unknown_links_are_404_and_expired_ones_410(aws: Aws, page: Invoke) -> None:
    assert get(page, new_token())["statusCode"] == 404
    old = new_token()
    assert SurveyStore(table(aws.table_name)).put(survey_for(old, sent_at=NOW - timedelta(days=15)))
    assert get(page, old)["statusCode"] == 410
    assert post(page, old, {"nonce": "1.x", "rating": "5"})["statusCode"] == 410


def test_a_five_makes_the_report_show_one_response_with_score_share_1(
    aws: Aws, page: Invoke, token: str, handlers: Callable[[str], Invoke]
) -> None:
    post(page, token, {"nonce": nonce_of(get(page, token)), "rating": "5"})
    measures = handlers("MeasuresFunction")
    records = measures_records(aws)
    for _ in range(2):  # the stream repeats itself
        assert measures({"Records": records}) == {"batchItemFailures": []}
    csat = report_today(aws)["csat"]
    assert (csat["sent"], csat["responses"], csat["score_share"], csat["ratings"]["5"]) == (1, 1, 1.0, 1)
