"""Asking customers privately, in-process against moto and the platform simulator: an answered X DM gets a
second DM with a survey link after the delay (the per-minute sweep), whose page takes a 5 into the report;
a public post gets none; a customer is asked once per 14 days; X refusing the DM is recorded, not retried."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.simulator.server import PlatformSimulator
from socialcare.data import table
from socialcare.data.surveys import SurveyStore
from socialcare.models import Author, MentionKind, MentionStatus
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import customer_mention, point_config_at
from tests.integration.test_measures import measures_records, report_today
from tests.integration.test_survey_page import get, nonce_of, post

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def world(
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> PlatformSimulator:
    monkeypatch.setenv("SURVEY_DELAY_MINUTES", "0")  # SOCIALCARE_PARAMETERS="SurveyDelayMinutes=0"
    running_simulator.reset()
    point_config_at(aws, dev_config, running_simulator)
    return running_simulator


def answered(
    aws: Aws, external_id: str, *, author: str = "777", kind: MentionKind = MentionKind.DIRECT_MESSAGE
) -> str:
    """A customer's mention, stored and answered by Alice a minute ago (what the reply sender leaves)."""
    mention = customer_mention(external_id, kind=kind, created_at=NOW - timedelta(minutes=5))
    mention = mention.model_copy(update={"author": Author(id=author, handle="carol")})
    store = aws.mention_store()
    assert store.put_if_new(mention)
    assert store.transition(
        mention.id,
        set_fields={
            "status": MentionStatus.ANSWERED,
            "priority": "urgent",
            "answered_at": NOW - timedelta(minutes=1),
            "answered_by": "alice@example.com",
            "first_response_seconds": 240,
        },
    )
    return mention.id


def run_stream_and_sweep(aws: Aws, handlers: Callable[[str], Invoke]) -> None:
    assert handlers("MeasuresFunction")({"Records": measures_records(aws)}) == {"batchItemFailures": []}
    handlers("EscalationFunction")({})


def survey_dms(simulator: PlatformSimulator) -> list[Any]:
    return [c for c in simulator.calls_to("/2/dm_conversations/with/") if "/s/" in str(c.body)]


def test_an_answered_dm_gets_a_survey_dm_whose_five_reaches_the_report(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator
) -> None:
    answered(aws, "dm-1")
    run_stream_and_sweep(aws, handlers)
    (dm,) = survey_dms(world)
    assert dm.path == "/2/dm_conversations/with/777/messages"
    link = next(word for word in dm.body["text"].split() if "/s/" in word)
    token = link.rsplit("/s/", 1)[1]
    page = handlers("SurveyPageFunction")
    assert post(page, token, {"nonce": nonce_of(get(page, token)), "rating": "5"})["statusCode"] == 200
    assert (
        post(page, token, {"nonce": "x", "rating": "1"}, **{"sec-fetch-site": "cross-site"})["statusCode"]
        == 403
    )
    run_stream_and_sweep(aws, handlers)
    assert len(survey_dms(world)) == 1  # the sweep does not ask again
    csat = report_today(aws)["csat"]
    assert (csat["sent"], csat["responses"], csat["score_share"]) == (1, 1, 1.0)
    (survey,) = [i for i in aws.items() if i.get("entity") == "survey"]
    assert survey["agent"] == "alice@example.com"  # who answered, recorded when the survey was sent
    assert token not in str(aws.items())  # only its hash is stored


def test_a_public_post_gets_no_survey_and_a_customer_is_asked_once_in_14_days(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator
) -> None:
    answered(aws, "public-1", author="888", kind=MentionKind.POST)
    answered(aws, "dm-2")
    answered(aws, "dm-3")  # the same customer again
    run_stream_and_sweep(aws, handlers)
    assert [c.path for c in survey_dms(world)] == ["/2/dm_conversations/with/777/messages"]
    assert not SurveyStore(table(aws.table_name)).due(NOW + timedelta(days=1))  # nothing left to ask


def test_x_refusing_the_dm_is_recorded_with_the_reason_and_not_retried(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator
) -> None:
    answered(aws, "dm-4")
    closed = {"title": "Forbidden", "detail": "You cannot send messages to this user.", "type": "about:blank"}
    world.fail_next(1, 403, json_body=closed)
    run_stream_and_sweep(aws, handlers)
    run_stream_and_sweep(aws, handlers)
    assert len(world.calls_to("/2/dm_conversations/with/")) == 1
    (survey,) = [i for i in aws.items() if i.get("entity") == "survey"]
    assert survey["state"] == "failed" and "cannot send messages" in survey["failure_reason"]
    assert report_today(aws)["csat"]["sent"] == 0


def test_throttling_puts_the_survey_off_and_frees_the_customer_for_the_retry(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator
) -> None:
    answered(aws, "dm-5")
    world.fail_next(1, 429)
    run_stream_and_sweep(aws, handlers)
    swept = datetime.now(UTC)  # the sweep puts it off from its own clock, not from when this module loaded
    assert not survey_dms(world) or all(c.status == 429 for c in survey_dms(world))
    surveys = SurveyStore(table(aws.table_name))
    assert not surveys.due(swept + timedelta(minutes=1))  # not due again at once
    assert [m for _k, m in surveys.due(swept + timedelta(minutes=10))] == ["x-dm-5"]
    assert surveys.claim_customer("x", "777", NOW, timedelta(days=14))  # the retry may still ask


def test_a_sources_reply_created_carries_a_survey_url_that_opens_the_survey(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator, dev_config: dict[str, Any]
) -> None:
    from tests.integration.reply_support import ALICE, make_reply_world

    replies = make_reply_world(aws, handlers, world, dev_config, ALICE)
    for number in ("1", "2"):  # the same reviewer twice: asked once in 14 days
        review = customer_mention(f"review-{number}", platform="reviews", kind=MentionKind.REVIEW)
        assigned = replies.assigned(review, ALICE)
        assert (
            replies.answer(replies.link(assigned, ALICE), "Sorry, a refund is on its way.")["statusCode"]
            == 200
        )
        replies.drain()
    first, second = world.calls_to("/sources/reviews/replies")
    url = first.body["data"]["survey_url"]
    assert "survey_url" not in second.body["data"]
    token = url.rsplit("/s/", 1)[1]
    page = handlers("SurveyPageFunction")
    assert get(page, token)["statusCode"] == 200
    assert post(page, token, {"nonce": nonce_of(get(page, token)), "rating": "4"})["statusCode"] == 200
    (survey,) = [i for i in aws.items() if i.get("entity") == "survey"]
    assert (survey["agent"], survey["mention_id"], survey["state"]) == (
        "alice@example.com",
        "reviews-review-1",
        "sent",
    )


@pytest.mark.parametrize("asked", [False, True], ids=["not-asked", "asked-privately"])
def test_a_facebook_comment_answered_publicly_is_surveyed_only_when_the_agent_asks_privately(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    world: PlatformSimulator,
    dev_config: dict[str, Any],
    asked: bool,
) -> None:
    from tests.integration.reply_support import ALICE, make_reply_world

    replies = make_reply_world(aws, handlers, world, dev_config, ALICE)
    comment = customer_mention("111_222", platform="facebook", kind=MentionKind.COMMENT, url=None)
    assigned = replies.assigned(comment, ALICE)
    page = replies.get(replies.link(assigned, ALICE))
    assert "Ask privately how we did" in page["body"]
    extra = {"ask_survey": "yes"} if asked else {}
    assert (
        replies.answer(replies.link(assigned, ALICE), "Sorry! Sending another.", **extra)["statusCode"] == 200
    )
    replies.drain()
    run_stream_and_sweep(aws, handlers)
    assert [c.path for c in world.calls_to("/111_222/comments")] == ["/v21.0/111_222/comments"]  # public
    private = world.calls_to("/2000000001/messages")
    if not asked:
        assert private == []
        return
    (message,) = private
    assert message.body["recipient"] == {"comment_id": "111_222"}
    assert "/s/" in message.body["message"]["text"]
    run_stream_and_sweep(aws, handlers)
    assert len(world.calls_to("/2000000001/messages")) == 1  # one private reply per comment


def test_a_throttled_survey_waits_for_the_platforms_own_reset(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator
) -> None:
    answered(aws, "dm-6")
    reset = int(datetime.now(UTC).timestamp()) + 30 * 60  # X: the 15-minute window resets in 30 minutes
    world.fail_next(1, 429, headers={"x-rate-limit-reset": str(reset)})
    run_stream_and_sweep(aws, handlers)
    surveys = SurveyStore(table(aws.table_name))
    assert not surveys.due(datetime.fromtimestamp(reset - 60, UTC))  # not before X's reset
    assert [m for _k, m in surveys.due(datetime.fromtimestamp(reset + 60, UTC))] == ["x-dm-6"]


def test_a_sweep_whose_invocation_is_nearly_over_leaves_the_surveys_to_the_next(
    aws: Aws, handlers: Callable[[str], Invoke], world: PlatformSimulator
) -> None:
    """A survey posted and not recorded would be posted again: with under FINISH_MARGIN_MS left, the sweep
    starts nothing, surveys included; the next sweep, with time, sends it."""
    from infra.local.runtime import FunctionRuntime, LambdaContext

    answered(aws, "dm-3")
    assert handlers("MeasuresFunction")({"Records": measures_records(aws)}) == {"batchItemFailures": []}
    assert aws.mention_store().put_if_new(customer_mention("new-1", created_at=NOW - timedelta(minutes=5)))
    runtime = FunctionRuntime(aws.template.functions, log=lambda _line: None, environments=aws.environments)
    sweep = runtime.handler("EscalationFunction")

    def swept_with(seconds_left: int) -> dict[str, Any]:
        summary: dict[str, Any] = sweep({}, LambdaContext("EscalationFunction", seconds_left, "sweep"))
        return summary

    assert swept_with(5)["left_for_next_sweep"]
    assert survey_dms(world) == []
    assert not swept_with(50)["left_for_next_sweep"]
    assert len(survey_dms(world)) == 1
