"""The escalation sweep in-process against moto, with a controlled clock: waiting mentions retried once
someone is on shift, first and second misses escalated once each (overlapping runs included), nothing more
once the link is opened, and texts that failed delivered by a later sweep."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from socialcare.data import table
from socialcare.data.replies import Reply, ReplyState, reply_to_item
from socialcare.dispatch import escalation
from socialcare.dispatch.escalation import Escalator
from socialcare.dispatch.notifier import NotificationFailed
from socialcare.models import MentionStatus
from tests.integration.conftest import Aws, Invoke, http_event
from tests.integration.dispatch_support import World, emails, make_world, texts, texts_to

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
ANN, BEN, LEA = "+14155550101", "+14155550102", "+14155550103"


@pytest.fixture
def world(aws: Aws) -> World:
    return make_world(aws)


@pytest.fixture(autouse=True)
def sweeps_take_no_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweeps run on these tests' clock alone: a sweep handles every mention at the `now` it is given,
    unless a test makes its time pass (SweepClock)."""
    monkeypatch.setattr(escalation, "_seconds", lambda: 0.0)


def minutes(count: float) -> datetime:
    return T0 + timedelta(minutes=count)


def sns_down(**_: object) -> None:
    raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com")


def test_waiting_mention_is_dispatched_once_an_agent_comes_on_shift(world: World) -> None:
    ann = world.add_agent("Ann", ANN, "Mon-Fri 12:30-17:00", at=T0)
    mention = world.mention("1", T0)
    assert world.dispatcher.dispatch(mention.id, T0).result == "waiting"

    report = world.escalator.sweep(minutes(10))
    assert report.still_waiting == 1 and texts() == []
    assert world.stored(mention.id).status is MentionStatus.WAITING

    report = world.escalator.sweep(minutes(31))
    assert report.dispatched == 1
    stored = world.stored(mention.id)
    assert stored.status is MentionStatus.ASSIGNED and stored.assigned_to == [ann]
    assert stored.notified_at == minutes(31) and stored.waiting_reason is None
    world.escalator.sweep(minutes(32))
    assert len(texts_to(ANN)) == 1 and len(emails()) == 1


def test_a_mention_the_dispatcher_never_saw_is_dispatched_by_the_sweep(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    mention = world.mention("1", T0)  # stored, but the stream never delivered it

    assert world.escalator.sweep(minutes(0.5)).dispatched == 0  # the dispatcher's minute
    assert world.escalator.sweep(minutes(1.5)).dispatched == 1
    assert world.stored(mention.id).status is MentionStatus.ASSIGNED
    assert len(texts_to(ANN)) == 1


def test_a_sweep_near_its_invocations_end_starts_nothing_and_leaves_it_to_the_next(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    first, second = world.mention("1", T0), world.mention("2", T0)
    # Time enough until the first text is sent, then nearly over.
    ending = Escalator(world.dispatcher, remaining_ms=lambda: 9_000 if texts_to(ANN) else 60_000)
    report = ending.sweep(minutes(1.5))
    assert report.dispatched == 1 and report.left_for_next_sweep
    assert len(texts_to(ANN)) == 1  # only the one it had time for

    report = Escalator(world.dispatcher, remaining_ms=lambda: 60_000).sweep(minutes(2.5))
    assert report.dispatched == 1 and not report.left_for_next_sweep
    assert {world.stored(m.id).status for m in (first, second)} == {MentionStatus.ASSIGNED}
    assert len(texts_to(ANN)) == 2


def test_a_notice_the_sweep_claims_late_in_its_run_is_held_against_other_runs_until_its_invocation_ends(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep reaches the mention 30 s after it started, with 20 s of its invocation left: its claim holds
    until then (50 s after the sweep's start), so the dispatcher, handling the same mention's stream record
    5 s later, cannot take the notice while the sweep is texting, and texts nobody a second time."""
    world.add_agent("Ann", ANN, at=T0)
    mention = world.mention("1", T0)
    readings = iter([0.0])
    monkeypatch.setattr(escalation, "_seconds", lambda: next(readings, 30.0))  # started, then 30 s later
    started = minutes(1.5)
    taken_by_another_run: list[bool] = []
    send = world.dispatcher.notifier.send

    def send_while_another_run_tries(*arguments: Any, **keywords: Any) -> Any:
        if not taken_by_another_run:
            later = started + timedelta(seconds=35)
            claimed = world.dispatcher.store.claim(
                mention.id, 0, "another run", later, later + timedelta(minutes=1)
            )
            taken_by_another_run.append(claimed)
        return send(*arguments, **keywords)

    monkeypatch.setattr(world.dispatcher.notifier, "send", send_while_another_run_tries)
    report = Escalator(world.dispatcher, remaining_ms=lambda: 20_000).sweep(started)
    assert report.dispatched == 1
    assert taken_by_another_run == [False]
    assert world.stored(mention.id).notified_at == started + timedelta(seconds=30)  # handled when it was
    assert len(texts_to(ANN)) == 1


def test_first_miss_goes_to_the_next_agent_and_second_to_everyone_and_the_leads(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=T0)
    ben = world.add_agent("Ben", BEN, at=T0)
    lea = world.add_agent("Lea", LEA, "Sat 08:00-12:00", lead=True, at=T0)  # a lead, off shift
    mention = world.mention("1", T0)  # normal priority: 15 minutes
    assert world.dispatcher.dispatch(mention.id, T0).recipients == (ann,)

    assert world.escalator.sweep(minutes(14)).escalated == {}
    assert world.escalator.sweep(minutes(15)).escalated == {1: 1}
    stored = world.stored(mention.id)
    assert stored.escalation_level == 1 and stored.assigned_to == [ann, ben]
    assert (len(texts_to(ANN)), len(texts_to(BEN)), len(texts_to(LEA))) == (1, 1, 0)
    assert "Escalation level 1" in emails()[-1]["body"]

    assert world.escalator.sweep(minutes(29)).escalated == {}
    assert world.escalator.sweep(minutes(30)).escalated == {2: 1}
    stored = world.stored(mention.id)
    assert stored.escalation_level == 2 and stored.assigned_to == [ann, ben, lea]
    assert (len(texts_to(ANN)), len(texts_to(BEN)), len(texts_to(LEA))) == (2, 2, 1)

    # Nothing is left to escalate: the mention leaves the pending index and later sweeps send nothing.
    assert world.aws.mention_store().pending(minutes(600)) == []
    world.escalator.sweep(minutes(120))
    assert len(texts()) == 5


def test_urgent_mentions_escalate_after_their_own_shorter_deadline(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    ben = world.add_agent("Ben", BEN, at=T0)
    mention = world.mention("1", T0, text="@brand this is a scam, I want a refund")
    world.dispatcher.dispatch(mention.id, T0)
    assert world.stored(mention.id).priority == "urgent"
    assert world.escalator.sweep(minutes(4)).escalated == {}
    assert world.escalator.sweep(minutes(5)).escalated == {1: 1}
    assert world.stored(mention.id).assigned_to[-1] == ben


def test_a_late_sweep_goes_straight_to_the_second_level_once(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    world.add_agent("Ben", BEN, at=T0)
    mention = world.mention("1", T0)
    world.dispatcher.dispatch(mention.id, T0)
    assert world.escalator.sweep(minutes(45)).escalated == {2: 1}
    assert world.escalator.sweep(minutes(46)).escalated == {}
    assert (len(texts_to(ANN)), len(texts_to(BEN))) == (2, 1)


@pytest.mark.usefixtures("atomic_aws_calls")
def test_overlapping_sweeps_escalate_once(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    world.add_agent("Ben", BEN, at=T0)
    mention = world.mention("1", T0)
    world.dispatcher.dispatch(mention.id, T0)

    # Two runs read the mention before either recorded the escalation.
    stale = world.stored(mention.id)
    first = world.escalator.escalate(stale, minutes(16))
    second = Escalator(world.dispatcher).escalate(stale, minutes(16.5))
    assert (first, second) == (1, None)

    # And truly concurrent sweeps, each with its own start.
    start = threading.Barrier(4)
    reports = []

    def sweep() -> None:
        start.wait()
        reports.append(Escalator(world.dispatcher).sweep(minutes(31)))

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.escalated.get(2, 0) for report in reports) == 1
    assert (len(texts_to(ANN)), len(texts_to(BEN))) == (2, 2)
    assert world.stored(mention.id).escalation_level == 2


def test_saying_im_on_it_stops_escalation_until_the_answer_deadline(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=T0)
    world.add_agent("Ben", BEN, at=T0)
    first = world.mention("1", T0)
    second = world.mention("2", T0)
    world.dispatcher.dispatch(first.id, T0)
    world.dispatcher.dispatch(second.id, T0)
    world.open_reply_link(first.id, ann, minutes(3))
    world.open_reply_link(second.id, ann, minutes(3))
    assert world.aws.mention_store().transition(  # answered meanwhile
        second.id, set_fields={"status": MentionStatus.ANSWERED, "answered_at": minutes(10)}
    )

    report = world.escalator.sweep(minutes(60))  # normal: answer deadline 4 x 15 minutes after opening
    assert report.escalated == {}
    assert len(texts()) == 2
    report = world.escalator.sweep(minutes(63))
    assert report.escalated == {2: 1} and report.dropped == 1
    assert len(texts_to(BEN)) == 2, "the unanswered one went to everyone on shift"
    assert "nobody has answered it yet" in emails()[-1]["body"]
    assert world.escalator.sweep(minutes(600)).escalated == {}
    assert world.aws.mention_store().pending(minutes(6000)) == []


def _reply_token(sms: str) -> str:
    return next(word for word in sms.split() if "/r/" in word).rsplit("/r/", 1)[1]


SCANNERS = [
    {"user-agent": "Mozilla/5.0 (compatible; SafeLinks scanner)"},  # a mail scanner's plain GET
    {  # a chat preview's headless browser, navigating as a person's browser would
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36",
        "sec-fetch-mode": "navigate",
        "sec-fetch-dest": "document",
        "sec-fetch-site": "none",
        "sec-fetch-user": "?1",
        "upgrade-insecure-requests": "1",
    },
]


@pytest.mark.parametrize("headers", SCANNERS, ids=["scanner", "preview-navigate"])
def test_a_link_scanners_get_leaves_the_mention_escalating(
    world: World, handlers: Callable[[str], Invoke], headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)  # the reply page runs on the real clock
    world.add_agent("Ann", ANN, at=now)
    world.add_agent("Ben", BEN, at=now)
    mention = world.mention("1", now)
    world.dispatcher.dispatch(mention.id, now)
    token = _reply_token(texts_to(ANN)[0])

    page = handlers("ReplyPageFunction")(http_event("GET", f"/r/{token}", headers=headers))

    assert page["statusCode"] == 200 and "my order is late" in page["body"]
    assert world.stored(mention.id).status is MentionStatus.ASSIGNED
    report = world.escalator.sweep(now + timedelta(minutes=15))
    assert report.escalated == {1: 1} and len(texts_to(BEN)) == 1


def test_a_text_that_failed_is_delivered_by_the_next_sweep(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    mention = world.mention("1", T0)
    outage = True

    def refuse(**_: object) -> None:
        if outage:
            sns_down()

    world.dispatcher.notifier.sns.meta.events.register("before-parameter-build.sns.Publish", refuse)
    with pytest.raises(NotificationFailed):
        world.dispatcher.dispatch(mention.id, T0)
    assert world.escalator.sweep(minutes(2)).redelivered == 0  # still down
    outage = False
    assert world.escalator.sweep(minutes(0.5)).redelivered == 0  # too fresh: the dispatcher's to retry
    assert world.escalator.sweep(minutes(3)).redelivered == 1
    assert world.escalator.sweep(minutes(4)).redelivered == 0
    assert len(texts_to(ANN)) == 1 and len(emails()) == 1


def test_a_failed_notice_for_a_mention_since_opened_is_abandoned(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=T0)
    mention = world.mention("1", T0)
    world.dispatcher.notifier.sns.meta.events.register("before-parameter-build.sns.Publish", sns_down)
    with pytest.raises(NotificationFailed):
        world.dispatcher.dispatch(mention.id, T0)
    world.open_reply_link(mention.id, ann, minutes(1))  # opened from the email that did arrive, say
    assert world.escalator.sweep(minutes(3)).abandoned == 1
    assert world.escalator.sweep(minutes(4)).abandoned == 0


def test_the_scheduled_handler_runs_the_sweep(world: World, handlers: Callable[[str], Invoke]) -> None:
    now = datetime.now(UTC)
    world.add_agent("Ann", ANN, at=now)
    world.mention("1", now - timedelta(minutes=5))  # never dispatched
    summary = handlers("EscalationFunction")({"detail-type": "Scheduled Event", "detail": {}})
    assert summary["dispatched"] == 1 and summary["errors"] == 0
    assert len(texts_to(ANN)) == 1


def test_a_mention_whose_text_is_still_being_fetched_waits_for_it(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    mention = world.mention("1", T0, text="", text_pending=True)  # an Instagram mention, ids only so far
    outcome = world.dispatcher.dispatch(mention.id, T0)
    assert outcome.result == "waiting" and "text" in outcome.reason and texts() == []

    filled = world.stored(mention.id).model_copy(update={"text": "@brand my order is broken"})
    filled.text_pending = False
    assert world.aws.mention_store().fill_text(filled)
    assert world.escalator.sweep(minutes(1)).dispatched == 1
    (sms,) = texts_to(ANN)
    assert "@brand my order is broken" in sms
    assert world.stored(mention.id).priority == "urgent"


def test_a_text_that_never_comes_does_not_hold_the_mention_forever(world: World) -> None:
    world.add_agent("Ann", ANN, at=T0)
    mention = world.mention("1", T0, text="", text_pending=True)
    assert world.dispatcher.dispatch(mention.id, T0).result == "waiting"
    assert world.escalator.sweep(minutes(4)).still_waiting == 1
    assert world.escalator.sweep(minutes(6)).dispatched == 1
    assert texts_to(ANN) == [texts_to(ANN)[0].split("\n", 1)[0] + "\n[X] @alice: (no text)"]


def _reply(world: World, mention_id: str, state: ReplyState, at: datetime) -> None:
    """A reply the agent sent from the page without pressing "I'm on it", in `state` (the sender's steps)."""
    reply = Reply(
        mention_id=mention_id,
        reply_id="r-1",
        platform="x",
        text="So sorry, on it",
        agent_email="ann@example.com",
        state=state,
        created_at=at,
    )
    table(world.aws.table_name).put_item(Item=reply_to_item(reply))


@pytest.mark.parametrize("state", [ReplyState.PENDING, ReplyState.SENDING])
def test_a_mention_whose_reply_is_on_its_way_is_not_escalated(world: World, state: ReplyState) -> None:
    world.add_agent("Ann", ANN, at=T0)
    world.add_agent("Ben", BEN, at=T0)
    mention = world.mention("1", T0)
    world.dispatcher.dispatch(mention.id, T0)
    _reply(world, mention.id, state, minutes(14))  # still assigned: the reply is not posted yet

    report = world.escalator.sweep(minutes(15))
    assert report.escalated == {} and report.reply_on_its_way == 1
    assert texts_to(BEN) == [] and world.stored(mention.id).escalation_level == 0
    assert world.escalator.sweep(minutes(15.5)).reply_on_its_way == 0, "looked at again a minute later"

    # The platform refused it: the mention escalates again, from where it was.
    _reply(world, mention.id, ReplyState.FAILED, minutes(15.8))
    assert world.aws.mention_store().transition(mention.id, set_fields={"status": MentionStatus.REPLY_FAILED})
    assert world.escalator.sweep(minutes(16)).escalated == {1: 1}
    assert len(texts_to(BEN)) == 1


def test_an_opened_mention_whose_reply_is_on_its_way_is_not_escalated_as_unanswered(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=T0)
    world.add_agent("Ben", BEN, at=T0)
    mention = world.mention("1", T0)
    world.dispatcher.dispatch(mention.id, T0)
    world.open_reply_link(mention.id, ann, minutes(3))
    _reply(world, mention.id, ReplyState.PENDING, minutes(50))  # Try again, say, queued it once more

    assert world.escalator.sweep(minutes(63)).escalated == {}
    assert texts_to(BEN) == []

    _reply(world, mention.id, ReplyState.FAILED, minutes(63.5))
    assert world.aws.mention_store().transition(mention.id, set_fields={"status": MentionStatus.REPLY_FAILED})
    report = world.escalator.sweep(minutes(64.5))
    assert report.escalated == {2: 1}, "a failed reply leaves the mention unanswered: everyone is told"
    assert len(texts_to(BEN)) == 1
