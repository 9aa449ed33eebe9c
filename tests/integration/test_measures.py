"""The measures function on the table stream, in-process against moto: each fact counted once although the
stream repeats records, and nothing anywhere (stored items, report fields, log lines) carries how long an
agent spent on a reply."""

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

from infra.local.event_sources import passes_filters
from infra.simulator.server import PlatformSimulator
from socialcare.data import table
from socialcare.data.rollups import RollupStore
from socialcare.measures.figures import facts_of_record
from socialcare.measures.reports import Period, build_report
from socialcare.models import MentionStatus
from socialcare.observability import logger
from socialcare.replies.page_flow import get_reply_flow
from socialcare.replies.sender import get_reply_sender
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import ALICE, customer_mention, make_reply_world, nonce_of

pytestmark = pytest.mark.integration


def measures_records(aws: Aws) -> list[dict[str, Any]]:
    """Every table stream record so far that the template's filter lets through to MeasuresFunction."""
    function = aws.template.document["Resources"]["MeasuresFunction"]["Properties"]
    criteria = function["Events"]["Facts"]["Properties"]["FilterCriteria"]
    stream_arn = aws.resolver.attributes["Table.StreamArn"]
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        answer = streams.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(dict(record, eventSourceARN=stream_arn) for record in answer["Records"])
    records = [json.loads(json.dumps(record, default=str)) for record in records]
    return [record for record in records if passes_filters(criteria, record)]


def report_today(aws: Aws, by: str | None = None) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    period = Period(today - timedelta(days=1), today)
    return build_report(RollupStore(table(aws.table_name)).read(period.days()), period, by)


def answer_directly(aws: Aws, mention_id: str, seconds: int, agent: str) -> None:
    """What the reply sender's transaction does to the mention it answered."""
    assert aws.mention_store().transition(
        mention_id,
        set_fields={
            "status": MentionStatus.ANSWERED,
            "priority": "urgent",
            "answered_at": datetime.now(UTC),
            "answered_by": agent,
            "first_response_seconds": seconds,
        },
    )


def test_repeated_and_concurrent_stream_records_count_each_fact_once(
    aws: Aws, handlers: Callable[[str], Invoke], atomic_aws_calls: None
) -> None:
    store = aws.mention_store()
    now = datetime.now(UTC)
    for number in range(3):
        assert store.put_if_new(customer_mention(str(number), created_at=now - timedelta(minutes=50)))
    answer_directly(aws, "x-0", 20 * 60, "ann@example.com")  # within urgent's 30 minutes
    answer_directly(aws, "x-1", 45 * 60, "bob@example.com")  # missed
    records = measures_records(aws)
    assert len(records) == 5  # three received, two answered
    measures = handlers("MeasuresFunction")
    assert measures({"Records": records}) == {"batchItemFailures": []}
    # The stream delivers again (a retried batch), and two invocations race on the same records.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: measures({"Records": records}), range(4)))
    assert all(answer == {"batchItemFailures": []} for answer in answers)

    report = report_today(aws, by="agent")
    assert (report["mentions"], report["answered"], report["unanswered"]) == (3, 2, 1)
    assert report["sla"] == {"met": 1, "missed": 1, "share": 0.5}
    assert report["first_response_seconds"]["count"] == 2
    assert [(g["key"], g["answered"]) for g in report["groups"]] == [
        ("ann@example.com", 1),
        ("bob@example.com", 1),
    ]


def test_received_mentions_write_a_small_item_of_their_own_and_answers_the_day_item(aws: Aws) -> None:
    """Every mention received adds to its day's small item, never to the big one that the answers'
    histograms make, and a report adds the two (and an item from before the split) together. (How small it
    stays under a viral burst: test_a_viral_days_received_item_stays_under_1_kb.)"""
    store = RollupStore(table(aws.table_name))
    day = datetime.now(UTC).date().isoformat()
    targets = {"normal": timedelta(hours=1)}
    platforms = ("x", "facebook", "instagram", "reviews", "threads", "bluesky", "google_reviews")
    for number in range(24):  # every hour, platform and priority
        image = {
            "entity": "mention",
            "platform": platforms[number % len(platforms)],
            "external_id": str(number),
            "priority": ("urgent", "normal", "low")[number % 3],
            "received_at": f"{day}T{number % 24:02d}:{number % 60:02d}:00+00:00",
        }
        for fact in facts_of_record("INSERT", {}, image, targets):
            assert store.record(fact)
        if number < 2:
            answered = {**image, "answered_at": image["received_at"], "answered_by": "ann@example.com"}
            for fact in facts_of_record("MODIFY", image, {**answered, "first_response_seconds": 90}, targets):
                assert store.record(fact)
    items = {item["pk"]: item for item in aws.items() if str(item["pk"]).endswith(f"#{day}")}
    received = items.pop(f"RECEIVED#{day}")
    assert {name.rpartition("|")[2] for name in received if "|" in name} == {"mentions"}
    answers = items.pop(f"ROLLUP#{day}")
    assert "all|mentions" not in answers and answers["all|answered"] == 2 and not items
    # A roll-up written before the split held received counters too: they still count.
    table(aws.table_name).update_item(
        Key={"pk": f"ROLLUP#{day}", "sk": "ROLLUP"},
        UpdateExpression="ADD #m :one",
        ExpressionAttributeNames={"#m": "all|mentions"},
        ExpressionAttributeValues={":one": 1},
    )
    report = report_today(aws)
    assert (report["mentions"], report["answered"]) == (25, 2)
    assert report["first_response_seconds"]["count"] == 2


# An agent's work between opening the link and the reply going out, chosen so that it cannot be confused with
# anything else the flow stores: if any of these shows up, something timed the agent.
WORK_SECONDS = 4321
DURATION_NAMES = re.compile(
    r"duration|elapsed|handle_?time|handling|typing|time_on|_ms$|_millis|spent", re.IGNORECASE
)
CUSTOMER_WAIT = {"first_response_seconds", "first_response"}  # the only time measured: the customer's


def numbers_in(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers_in(item)]
    if isinstance(value, (list, set, tuple)):
        return [n for item in value for n in numbers_in(item)]
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, str):
        # Whole numbers (a unit may follow: "4321s"); digits inside a hex id ("rep-72ab") are not a measure.
        return [float(found) for found in re.findall(r"(?<![\w.-])\d+(?:\.\d+)?(?![0-9a-fA-F-])", value)]
    return []


def looks_like_the_work(number: float) -> bool:
    return any(abs(number - scaled) <= tolerance for scaled, tolerance in _WORK_FORMS)


_WORK_FORMS = (
    (WORK_SECONDS, 2),
    (WORK_SECONDS * 1000, 2000),
    (round(WORK_SECONDS / 60, 2), 0.05),
)


def traces_of_work(document: Any) -> list[Any]:
    """Numbers that equal the agent's work time (seconds, ms, minutes) and fields named like a duration."""
    numbers = [n for n in numbers_in(document) if looks_like_the_work(n)]
    names = [n for n in names_in(document) if DURATION_NAMES.search(n) and n not in CUSTOMER_WAIT]
    return numbers + names


def names_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value] + [n for item in value.values() for n in names_in(item)]
    if isinstance(value, list):
        return [n for item in value for n in names_in(item)]
    return []


def test_nothing_stored_reported_or_logged_carries_how_long_an_agent_worked_on_a_reply(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    world = make_reply_world(aws, handlers, running_simulator, dev_config, ALICE)
    opened = datetime.now(UTC).replace(microsecond=0)
    mention = world.assigned(customer_mention(created_at=opened - timedelta(minutes=3)), ALICE)
    token = world.link(mention, ALICE, now=opened)
    flow, sender = get_reply_flow(), get_reply_sender()
    flow.now = lambda: opened
    page = world.get(token)
    assert page["statusCode"] == 200
    # The agent takes 4,321 seconds over it: the clock of the form post and of the sender says so.
    flow.now = lambda: opened + timedelta(seconds=WORK_SECONDS)
    sender.now = lambda: opened + timedelta(seconds=WORK_SECONDS)
    sent = world.post(token, {"nonce": nonce_of(page), "text": "Sorry Carol, on its way."})
    assert sent["statusCode"] == 200
    world.drain()
    assert handlers("MeasuresFunction")({"Records": measures_records(aws)}) == {"batchItemFailures": []}
    stored = world.aws.mention_store().get(mention.id)
    assert stored is not None and stored.status is MentionStatus.ANSWERED  # the flow did run
    report = report_today(aws, by="agent")
    assert report["answered"] == 1 and report["first_response_seconds"]["count"] == 1

    # Every log record of the run, as the Powertools formatter writes it to CloudWatch.
    logs = "\n".join(logger.registered_formatter.format(record) for record in caplog.records)
    assert "reply sent" in logs  # the handlers' logs were captured
    for item in aws.items():
        keys = ("pk", "sk", "gsi1sk", "gsi2sk", "gsi3sk")  # ids and times, not measures
        assert not traces_of_work({k: v for k, v in item.items() if k not in keys}), item
    assert not traces_of_work(report), report
    for line in logs.splitlines():
        entry = json.loads(line)
        entry.pop("timestamp", None)
        assert not traces_of_work(entry), line
