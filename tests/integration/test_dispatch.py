"""Dispatch in-process against moto, with a controlled clock: who gets a new mention (shifts across time
zones, round robin and capacity, the conversation's agent, leads, nobody), and that each agent is texted
and emailed exactly once however often the stream delivers the record or SNS fails."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import EndpointConnectionError

from infra.local.runtime import FunctionRuntime, LambdaContext
from socialcare.data.dispatch import UNDELIVERED_INDEX_KEY, ConversationHistory
from socialcare.data.tokens import TokenStore
from socialcare.dispatch import dispatcher as dispatch_module
from socialcare.dispatch.dispatcher import ROSTER_REUSE, get_dispatcher
from socialcare.dispatch.notifier import FINISH_MARGIN_MS, NotificationFailed
from socialcare.models import MentionStatus
from socialcare.replies.tokens import hash_token
from tests.integration.conftest import Aws, Invoke
from tests.integration.dispatch_support import (
    World,
    emails,
    link_in,
    make_world,
    new_mention_records,
    texts,
    texts_to,
)

WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
ANN, BEN, LEA = "+14155550101", "+14155550102", "+14155550103"


@pytest.fixture
def world(aws: Aws) -> World:
    return make_world(aws)


def fail_publishes(world: World, should_fail: Callable[[dict[str, Any]], bool]) -> list[str]:
    """Make SNS Publish calls for which should_fail(params) is true raise, as an outage would. Returns the
    list the failures are recorded in."""
    failures: list[str] = []

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if should_fail(params):
            failures.append("PhoneNumber" if "PhoneNumber" in params else "TopicArn")
            raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com")

    world.dispatcher.notifier.sns.meta.events.register("before-parameter-build.sns.Publish", refuse)
    return failures


# ---------------------------------------------------------------- who gets it
def test_agent_gets_sms_with_reply_link_and_email_through_the_topic(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON, text="@brand where is my parcel?")

    outcome = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)

    assert outcome.result == "assigned" and outcome.recipients == (ann,)
    (sms,) = texts_to(ANN)
    assert sms.endswith('\n[X] @alice: "@brand where is my parcel?"')
    link = link_in(sms)
    assert link.startswith("http://127.0.0.1:3000/r/")
    token = link.removeprefix("http://127.0.0.1:3000/r/")
    found = TokenStore(world.aws.mention_store()._table).find(token)
    assert found is not None and (found.mention_id, found.agent_email) == (mention.id, ann)
    assert found.expires_at == WEDNESDAY_NOON + timedelta(hours=24) and found.used_at is None
    # Only the token's hash is stored, never the token itself.
    assert not [item for item in world.aws.items() if token in str(item)]
    assert [i for i in world.aws.items() if i["pk"] == f"TOKEN#{hash_token(token)}"]

    (email,) = emails()
    assert email["agent_id"] == world.agents.get(ann).agent_id
    assert email["subject"] == "[X] post from @alice: @brand where is my parcel?"
    assert email["body"].startswith("Reply: http://127.0.0.1:3000/r/")

    stored = world.stored(mention.id)
    assert stored.status is MentionStatus.ASSIGNED and stored.assigned_to == [ann]
    assert stored.priority == "normal" and stored.notified_at == WEDNESDAY_NOON
    assert stored.escalation_level == 0
    assert world.aws.mention_store().pending(WEDNESDAY_NOON + timedelta(minutes=14)) == []
    assert [m.id for m in world.aws.mention_store().pending(WEDNESDAY_NOON + timedelta(minutes=15))] == [
        mention.id
    ]


def test_shifts_are_read_in_each_agents_time_zone(world: World) -> None:
    los_angeles = world.add_agent("Lou", ANN, "Mon-Fri 09:00-17:00", "America/Los_Angeles", at=WEDNESDAY_NOON)
    berlin = world.add_agent("Bea", BEN, "Mon-Fri 09:00-17:00", "Europe/Berlin", at=WEDNESDAY_NOON)

    morning_in_berlin = datetime(2026, 3, 4, 8, 30, tzinfo=UTC)  # 09:30 Berlin, 00:30 Los Angeles
    morning_in_california = datetime(2026, 3, 4, 17, 30, tzinfo=UTC)  # 18:30 Berlin, 09:30 Los Angeles
    first = world.mention("1", morning_in_berlin)
    second = world.mention("2", morning_in_california)
    assert world.dispatcher.dispatch(first.id, morning_in_berlin).recipients == (berlin,)
    assert world.dispatcher.dispatch(second.id, morning_in_california).recipients == (los_angeles,)

    # 16:30 UTC is 08:30 in Los Angeles on Friday (PST) but 09:30 on Monday (PDT since March 8).
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
    monday = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)
    third = world.mention("3", friday)
    assert world.dispatcher.dispatch(third.id, friday).result == "waiting"  # Berlin is 17:30: off too
    fourth = world.mention("4", monday)
    assert world.dispatcher.dispatch(fourth.id, monday).recipients == (los_angeles,)
    assert len(texts_to(BEN)) == 1 and len(texts_to(ANN)) == 2


def test_round_robin_alternates_between_agents_on_shift(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    ben = world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    chosen = []
    for number in range(1, 5):
        mention = world.mention(str(number), WEDNESDAY_NOON + timedelta(minutes=number))
        chosen.append(world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON + timedelta(minutes=number)))
    assert [outcome.recipients for outcome in chosen] == [(ann,), (ben,), (ann,), (ben,)]
    assert {outcome.via for outcome in chosen} == {"round_robin"}
    assert [to for to, _ in texts()] == [ANN, BEN, ANN, BEN]


def test_agents_at_capacity_are_skipped_until_a_mention_is_answered(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_OPEN_ASSIGNMENTS", "2")
    world = make_world(aws)
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    ben = world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    outcomes = [
        world.dispatcher.dispatch(world.mention(str(n), WEDNESDAY_NOON).id, WEDNESDAY_NOON) for n in range(4)
    ]
    assert [o.recipients for o in outcomes] == [(ann,), (ben,), (ann,), (ben,)]

    full = world.dispatcher.dispatch(world.mention("5", WEDNESDAY_NOON).id, WEDNESDAY_NOON)
    assert full.result == "waiting" and "2 or more open" in full.reason
    assert world.stored("x-5").status is MentionStatus.WAITING
    assert world.stored("x-5").waiting_reason == full.reason

    # Ben answers one of his: he has room again, and the waiting mention goes to him.
    world.aws.mention_store().transition(
        "x-1", set_fields={"status": MentionStatus.ANSWERED}, stop_escalating=True
    )
    later = WEDNESDAY_NOON + timedelta(minutes=1)
    assert world.dispatcher.dispatch("x-5", later).recipients == (ben,)
    assert len(texts_to(ANN)) == 2 and len(texts_to(BEN)) == 3


def test_a_lead_holding_a_burst_has_only_max_open_of_its_assignments_read_per_mention(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody else on shift: the lead takes every mention of a burst and holds them all. Whether the lead has
    room is decided on as many of its assignments as the limit (they are open), not on the whole burst, so
    a dispatch does not cost more with every mention the lead holds."""
    monkeypatch.setenv("MAX_OPEN_ASSIGNMENTS", "2")
    world = make_world(aws)
    lea = world.add_agent("Lea", LEA, at=WEDNESDAY_NOON, lead=True)
    for n in range(12):
        outcome = world.dispatcher.dispatch(world.mention(str(n), WEDNESDAY_NOON).id, WEDNESDAY_NOON)
        assert outcome.recipients == (lea,)
    assert world.dispatcher.store.roster().open_counts[lea] == 12

    statuses_read: list[int] = []
    assignments_read: list[int] = []

    def count_reads(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "BatchGetItem":
            statuses_read.extend(len(reads["Keys"]) for reads in params["RequestItems"].values())
        if model.name == "Query" and "OPEN#" in json.dumps(params, default=str):
            assignments_read.append(params.get("Limit", 10**6))

    events = world.dispatcher.mentions._table.client.meta.events
    events.register("provide-client-params.dynamodb", count_reads)
    try:
        outcome = world.dispatcher.dispatch(world.mention("12", WEDNESDAY_NOON).id, WEDNESDAY_NOON)
    finally:
        events.unregister("provide-client-params.dynamodb", count_reads)
    assert outcome.recipients == (lea,) and "2 or more open" in outcome.reason
    assert sum(statuses_read) == 2
    assert sum(assignments_read) <= 2


def test_a_capacity_check_closes_answered_assignments_until_it_finds_max_open_still_open(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent holds five (a conversation's follow-ups stay with its agent even at capacity); the first
    three were answered. The check reads on past them, closes them, and finds the agent still at capacity;
    once one more is answered, the agent has room again."""
    monkeypatch.setenv("MAX_OPEN_ASSIGNMENTS", "2")
    world = make_world(aws)
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    held = [world.mention(str(n), WEDNESDAY_NOON, conversation="1") for n in range(1, 6)]
    assert [world.dispatcher.dispatch(m.id, WEDNESDAY_NOON).recipients for m in held] == [(ann,)] * 5
    for mention in held[:3]:
        world.aws.mention_store().transition(
            mention.id, set_fields={"status": MentionStatus.ANSWERED}, stop_escalating=True
        )

    waiting = world.dispatcher.dispatch(world.mention("6", WEDNESDAY_NOON).id, WEDNESDAY_NOON)
    assert waiting.result == "waiting" and "2 or more open" in waiting.reason
    assert world.dispatcher.store.roster().open_counts[ann] == 2
    assert sorted(world.dispatcher.store.open_ids(ann)) == sorted(m.id for m in held[3:])

    world.aws.mention_store().transition(
        held[3].id, set_fields={"status": MentionStatus.ANSWERED}, stop_escalating=True
    )
    later = WEDNESDAY_NOON + timedelta(minutes=1)
    assert world.dispatcher.dispatch("x-6", later).recipients == (ann,)
    assert world.dispatcher.store.roster().open_counts[ann] == 2  # x-5 and x-6


def test_follow_ups_in_a_conversation_go_to_its_agent(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    ben = world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    first = world.mention("1", WEDNESDAY_NOON, conversation="1")
    assert world.dispatcher.dispatch(first.id, WEDNESDAY_NOON).recipients == (ann,)

    # Round robin would pick Ben next; the customer's follow-up stays with Ann.
    follow_up = world.mention("2", WEDNESDAY_NOON, text="@brand any news?", conversation="1")
    outcome = world.dispatcher.dispatch(follow_up.id, WEDNESDAY_NOON)
    assert outcome.recipients == (ann,) and outcome.via == "sticky"
    other = world.mention("3", WEDNESDAY_NOON, conversation="3")
    assert world.dispatcher.dispatch(other.id, WEDNESDAY_NOON).recipients == (ben,)

    # The follow-up's email shows the conversation so far.
    follow_up_email = emails()[1]
    assert "Conversation so far" in follow_up_email["body"]
    assert "@brand my order is late" in follow_up_email["body"]


def test_a_reply_that_overtook_its_root_keeps_the_conversation_with_its_agent(world: World) -> None:
    """A root post skips reading its conversation (nothing can be in it yet); a reply that arrived first and
    was assigned makes the assignment's condition fail, and the conversation is read then."""
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    reply = world.mention("2", WEDNESDAY_NOON, text="@brand any news?", conversation="1", in_reply_to="1")
    assert world.dispatcher.dispatch(reply.id, WEDNESDAY_NOON).recipients == (ann,)

    root = world.mention("1", WEDNESDAY_NOON, conversation="1")  # round robin alone would pick Ben
    outcome = world.dispatcher.dispatch(root.id, WEDNESDAY_NOON)
    assert outcome.recipients == (ann,) and outcome.via == "sticky"


def test_a_burst_reads_the_roster_once_and_a_changed_roster_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The roster is reused for ROSTER_REUSE seconds, but an assignment expects the roster's version it was
    decided on: an agent added, paused or removed meanwhile is seen before anyone is texted."""
    clock = [1000.0]
    monkeypatch.setattr(dispatch_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    reads: list[int] = []
    read_roster = world.dispatcher.store.roster

    def counted_roster() -> Any:
        reads.append(1)
        return read_roster()

    monkeypatch.setattr(world.dispatcher.store, "roster", counted_roster)

    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    for number in ("1", "2"):
        mention = world.mention(number, WEDNESDAY_NOON)
        assert world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON).recipients == (ann,)
    assert len(reads) == 1

    ben = world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    third = world.mention("3", WEDNESDAY_NOON)
    assert world.dispatcher.dispatch(third.id, WEDNESDAY_NOON).recipients == (ben,)  # within the window
    assert len(reads) == 2

    world.agents.update(ann, {"active": False}, WEDNESDAY_NOON)  # round robin's turn was Ann's
    fourth = world.mention("4", WEDNESDAY_NOON)
    assert world.dispatcher.dispatch(fourth.id, WEDNESDAY_NOON).recipients == (ben,)
    assert len(reads) == 3

    world.agents.remove(ben)
    fifth = world.mention("5", WEDNESDAY_NOON)
    assert world.dispatcher.dispatch(fifth.id, WEDNESDAY_NOON).result == "waiting"  # nobody left to text
    assert len(reads) == 4
    assert len(texts_to(ANN)) == 2 and len(texts_to(BEN)) == 2

    clock[0] += ROSTER_REUSE  # past the window: read again, and only once
    sixth = world.mention("6", WEDNESDAY_NOON)
    assert world.dispatcher.dispatch(sixth.id, WEDNESDAY_NOON).result == "waiting"
    assert len(reads) == 5


def test_when_nobody_on_shift_covers_it_the_leads_get_it(world: World) -> None:
    world.add_agent("Ann", ANN, "Mon-Fri 20:00-23:00", at=WEDNESDAY_NOON)
    lea = world.add_agent("Lea", LEA, "Mon-Fri 06:00-08:00", lead=True, at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON)
    outcome = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert outcome.recipients == (lea,) and outcome.via == "leads"
    assert texts_to(ANN) == [] and len(texts_to(LEA)) == 1
    assert world.stored(mention.id).assigned_to == [lea]


def test_spanish_mentions_go_to_agents_who_speak_spanish(world: World) -> None:
    world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    ben = world.add_agent("Ben", BEN, languages=["en", "es"], at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON, text="Hola, mi pedido no llegó y nadie me responde")
    assert world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON).recipients == (ben,)
    assert world.stored(mention.id).priority == "urgent"  # "no llegó"


def test_nobody_and_no_leads_leaves_the_mention_waiting_and_pending(world: World) -> None:
    world.add_agent("Ann", ANN, "Mon-Fri 20:00-23:00", at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON)
    outcome = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert outcome.result == "waiting" and "no leads" in outcome.reason
    stored = world.stored(mention.id)
    assert stored.status is MentionStatus.WAITING and stored.waiting_reason == outcome.reason
    assert [m.id for m in world.aws.mention_store().pending(WEDNESDAY_NOON)] == [mention.id]
    assert texts() == [] and emails() == []


def test_inactive_agents_are_never_texted(world: World) -> None:
    world.add_agent("Ann", ANN, active=False, at=WEDNESDAY_NOON)
    ben = world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    for number in range(3):
        mention = world.mention(str(number), WEDNESDAY_NOON)
        assert world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON).recipients == (ben,)
    assert texts_to(ANN) == []


def test_a_stale_index_never_breaks_round_robin_or_stickiness(aws: Aws) -> None:
    """Routing reads agents, cursor and conversation from eventually consistent indexes; the assignment's
    transaction checks what it read, so a run that read them before the last assignment decides again."""
    world = make_world(aws)
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    ben = world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    first = world.mention("1", WEDNESDAY_NOON, conversation="1")
    before = world.dispatcher.store.roster()  # the cursor as it was before the first assignment
    assert world.dispatcher.dispatch(first.id, WEDNESDAY_NOON).recipients == (ann,)

    # Another execution environment whose index reads lag: no cursor yet, and an empty conversation.
    lagging = make_world(aws).dispatcher
    lagging.store.roster = lambda: before  # type: ignore[method-assign]
    lagging.store.conversation_history = lambda _id: ConversationHistory()  # type: ignore[method-assign,assignment]
    other = world.mention("2", WEDNESDAY_NOON, conversation="2")
    assert lagging.dispatch(other.id, WEDNESDAY_NOON).recipients == (ben,)  # not Ann again
    follow_up = world.mention("3", WEDNESDAY_NOON, text="@brand any news?", conversation="1")
    outcome = lagging.dispatch(follow_up.id, WEDNESDAY_NOON)
    assert outcome.recipients == (ann,) and outcome.via == "sticky"
    assert [to for to, _ in texts()] == [ANN, BEN, ANN] and len(emails()) == 3


# ---------------------------------------------------------------- exactly once
def test_sns_failing_then_recovering_notifies_exactly_once(world: World) -> None:
    world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON)
    outage = True
    failures = fail_publishes(world, lambda _params: outage)

    with pytest.raises(NotificationFailed):
        world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert failures and texts() == [] and emails() == []
    assert world.stored(mention.id).status is MentionStatus.ASSIGNED  # recorded; delivery still owed
    undelivered = [i for i in world.aws.items() if i.get("gsi1pk") == UNDELIVERED_INDEX_KEY]
    assert len(undelivered) == 1

    with pytest.raises(NotificationFailed):  # still down: retried, still nothing sent
        world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON + timedelta(seconds=5))
    outage = False
    assert world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON + timedelta(seconds=10)).result == (
        "already_assigned"
    )
    world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON + timedelta(seconds=15))

    assert len(texts_to(ANN)) == 1 and len(emails()) == 1
    assert not [i for i in world.aws.items() if i.get("gsi1pk") == UNDELIVERED_INDEX_KEY]


def test_email_failing_after_the_text_went_out_does_not_text_again(world: World) -> None:
    world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON)
    email_down = True
    fail_publishes(world, lambda params: email_down and "TopicArn" in params)

    with pytest.raises(NotificationFailed):
        world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert len(texts_to(ANN)) == 1 and emails() == []
    email_down = False
    world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON + timedelta(seconds=5))
    assert len(texts_to(ANN)) == 1 and len(emails()) == 1


def test_concurrent_dispatch_of_one_mention_notifies_one_agent_once(world: World) -> None:
    world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    world.add_agent("Ben", BEN, at=WEDNESDAY_NOON)
    mention = world.mention("1", WEDNESDAY_NOON)
    stale = world.stored(mention.id)
    first = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    # A second run that read the mention while it was still new loses the transition and sends nothing.
    world.dispatcher.mentions = _StaleReads(world.dispatcher.mentions, stale)  # type: ignore[assignment]
    second = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert first.result == "assigned" and second.result == "lost_race"
    assert len(texts()) == 1 and len(emails()) == 1


class _StaleReads:
    """A MentionStore whose get() answers with an old copy of one mention."""

    def __init__(self, store: Any, stale: Any) -> None:
        self._store, self._stale = store, stale

    def get(self, mention_id: str) -> Any:
        return self._stale if mention_id == self._stale.id else self._store.get(mention_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


# ---------------------------------------------------------------- through the handler
def test_stream_record_redelivered_notifies_once(
    world: World, aws: Aws, handlers: Callable[[str], Invoke]
) -> None:
    world.add_agent("Ann", ANN, at=datetime.now(UTC))
    world.mention("1", datetime.now(UTC))
    world.mention("2", datetime.now(UTC), is_ours=True, status=MentionStatus.OURS)  # filtered out
    records = new_mention_records(aws)
    assert len(records) == 1
    dispatcher = handlers("DispatcherFunction")

    first = dispatcher({"Records": records})
    again = dispatcher({"Records": records})

    assert first == again == {"batchItemFailures": []}
    assert len(texts_to(ANN)) == 1 and len(emails()) == 1
    assert world.stored("x-1").status is MentionStatus.ASSIGNED


def test_stream_record_whose_sns_call_fails_is_reported_and_retried_once(
    world: World, aws: Aws, handlers: Callable[[str], Invoke]
) -> None:
    world.add_agent("Ann", ANN, at=datetime.now(UTC))
    world.mention("1", datetime.now(UTC), text="@brand my parcel is lost")
    world.mention("2", datetime.now(UTC), text="@brand the app crashes")
    records = new_mention_records(aws)
    dispatcher = handlers("DispatcherFunction")
    outage = True
    get_dispatcher().notifier.sns.meta.events.register(
        "before-parameter-build.sns.Publish",
        lambda params, **_: _raise_if(outage and "parcel is lost" in str(params.get("Message", ""))),
    )

    failed = dispatcher({"Records": records})
    assert failed == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert len(texts_to(ANN)) == 1  # the other mention's text went out

    outage = False
    assert dispatcher({"Records": records[:1]}) == {"batchItemFailures": []}  # Lambda retries the failed one
    assert len(texts_to(ANN)) == 2 and len(emails()) == 2


def _raise_if(condition: bool) -> None:
    if condition:
        raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com")


# ---------------------------------------------------------------- what can never be sent
def test_a_conversation_of_three_100_kb_mentions_gets_its_email(world: World) -> None:
    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    huge = "my parcel never came and nobody answers me. " * 2_300  # about 100 KB each
    for number in range(3):
        last = world.mention(
            str(number),
            WEDNESDAY_NOON + timedelta(seconds=number),
            text=f"{number}: {huge}",
            conversation="t",
        )

    outcome = world.dispatcher.dispatch(last.id, WEDNESDAY_NOON + timedelta(seconds=3))

    assert outcome.result == "assigned" and outcome.recipients == (ann,)
    (email,) = emails()
    assert len(email["body"].encode("utf-8")) < 256 * 1024
    assert email["body"].startswith("Reply: http://127.0.0.1:3000/r/")
    assert "> 0: my parcel" in email["body"] and "> 1: my parcel" in email["body"]
    assert "(shortened: the whole text is on the page)" in email["body"]
    assert world.dispatcher.store.notice(last.id, 0).delivered_at is not None  # type: ignore[union-attr]


def test_a_text_sns_refuses_for_good_is_recorded_failed_and_the_leads_are_told_once(world: World) -> None:
    from botocore.exceptions import ClientError

    ann = world.add_agent("Ann", ANN, at=WEDNESDAY_NOON)
    world.add_agent("Lea", LEA, "Sat 08:00-12:00", lead=True, at=WEDNESDAY_NOON)  # a lead, off shift
    mention = world.mention("1", WEDNESDAY_NOON)
    refused: list[str] = []

    def invalid_number(params: dict[str, Any], **_: Any) -> None:
        if params.get("PhoneNumber") == ANN:
            refused.append(ANN)
            error = {
                "Code": "InvalidParameter",
                "Message": "Invalid parameter: PhoneNumber Reason: not valid",
            }
            raise ClientError({"Error": error}, "Publish")

    world.dispatcher.notifier.sns.meta.events.register("before-parameter-build.sns.Publish", invalid_number)

    outcome = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)  # no NotificationFailed: nothing to retry

    assert outcome.result == "assigned" and outcome.recipients == (ann,)
    notice = world.dispatcher.store.notice(mention.id, 0)
    assert notice is not None and notice.delivered_at is not None
    item = world.dispatcher.store._table.get_item(Key={"pk": f"NOTICE#{mention.id}", "sk": "LEVEL#0"})["Item"]
    ((failure),) = item["failures"]
    assert failure["notification"].endswith(":sms") and "PhoneNumber" in failure["reason"]
    by_agent = {email["agent_id"]: email for email in emails()}
    assert len(by_agent) == 2 and world.agents.get(ann).agent_id in by_agent, "Ann's email still went"
    lead_alert = by_agent[world.agents.get("lea@example.com").agent_id]
    assert "text to Ann failed" in lead_alert["subject"] and "not be retried" in lead_alert["body"]

    for minute in (2, 3, 10):
        report = world.escalator.sweep(WEDNESDAY_NOON + timedelta(minutes=minute))
        assert report.redelivered == 0 and report.errors == 0
    assert refused == [ANN] and len(emails()) == 2, "never retried, the leads told once"


def test_with_too_little_of_the_invocation_left_nothing_is_started_and_the_record_is_retried(
    world: World, aws: Aws, handlers: Callable[[str], Invoke]
) -> None:
    """A run stopped between SNS accepting a text and the notice recording it would have the text sent again:
    with under FINISH_MARGIN_MS left, the mention is left as it is and its record fails, to be retried."""
    ann = world.add_agent("Ann", ANN, at=datetime.now(UTC))
    mention = world.mention("1", datetime.now(UTC))
    records = new_mention_records(aws)
    runtime = FunctionRuntime(aws.template.functions, log=lambda _line: None, environments=aws.environments)
    nearly_over = LambdaContext("DispatcherFunction", FINISH_MARGIN_MS // 1000 - 1, "nearly-over")

    with pytest.raises(BatchProcessingError):  # every record of the batch failed: Lambda retries it whole
        runtime.handler("DispatcherFunction")({"Records": records}, nearly_over)
    assert world.stored(mention.id).status is MentionStatus.NEW and texts() == []

    assert handlers("DispatcherFunction")({"Records": records}) == {"batchItemFailures": []}
    assert world.stored(mention.id).assigned_to == [ann] and len(texts_to(ANN)) == 1
