"""The local stack's pollers honour the event source mappings' MaximumBatchingWindowInSeconds (queues and
streams) as Lambda does: a part batch waits for more, a full batch goes at once."""

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.event_sources import EventSourcePollers
from infra.local.stack import REGION
from infra.local.template import EventSource, Resolver


class Recording:
    """Plays the function runtime: keeps each batch it is invoked with."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.invoked = threading.Event()

    def invoke(self, function: str, event: dict[str, Any], summary: str = "") -> dict[str, Any]:
        self.batches.append(event["Records"])
        self.invoked.set()
        return {"batchItemFailures": []}


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # moto answers the regional endpoint only, not the account-based one botocore picks for stream ARNs.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        yield


def start(source: EventSource, runtime: Recording) -> EventSourcePollers:
    pollers = EventSourcePollers([source], Resolver({}, {}, {}), runtime, None, log=lambda _line: None)  # type: ignore[arg-type]
    pollers.start()
    return pollers


def test_a_queue_batch_above_ten_is_gathered_within_the_window(moto: None) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="replies")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for number in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    runtime = Recording()
    # One poller (MaximumConcurrency 1, below what AWS takes): the window alone decides the batch.
    properties = {
        "Queue": arn,
        "BatchSize": 25,
        "MaximumBatchingWindowInSeconds": 30,
        "ScalingConfig": {"MaximumConcurrency": 1},
    }
    pollers = start(EventSource("Sender", "SQS", properties), runtime)
    try:
        assert runtime.invoked.wait(20)
    finally:
        pollers.stop()
    # One receive gives at most ten: without the window the first batch would have been ten.
    assert sorted(int(record["body"]) for record in runtime.batches[0]) == list(range(25))


def test_a_stream_part_batch_waits_in_the_window_for_what_comes_next(
    moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = boto3.client("dynamodb")
    description = dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    for key in ("a", "b"):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": key}})
    read_once = threading.Event()
    original = EventSourcePollers._shard_reader

    def observed(self: EventSourcePollers, *args: Any) -> Any:
        read = original(self, *args)

        def read_and_tell(limit: int) -> list[dict[str, Any]]:
            records = read(limit)
            read_once.set()
            return records

        return read_and_tell

    monkeypatch.setattr(EventSourcePollers, "_shard_reader", observed)
    runtime = Recording()
    properties = {
        "Stream": description["LatestStreamArn"],
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 3,
        "MaximumBatchingWindowInSeconds": 30,
    }
    pollers = start(EventSource("Dispatcher", "DynamoDB", properties), runtime)
    try:
        assert read_once.wait(20)  # the poller holds a part batch of two
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "c"}})
        assert runtime.invoked.wait(20)
    finally:
        pollers.stop()
    assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in runtime.batches[0]] == ["a", "b", "c"]


class Overlapping(Recording):
    """A runtime whose invocations each wait until another one is in flight too (or give up after a while)."""

    def __init__(self) -> None:
        super().__init__()
        self.both_in_flight = threading.Barrier(2, timeout=20)

    def invoke(self, function: str, event: dict[str, Any], summary: str = "") -> dict[str, Any]:
        self.both_in_flight.wait()  # raises BrokenBarrierError when invocations run one at a time
        return super().invoke(function, event, summary)


def test_a_slow_queue_batch_does_not_hold_up_the_next(moto: None) -> None:
    """Lambda keeps several batches of a queue in flight (five at first): the second batch is invoked while
    the first is still running, as the reply sender's slow posts need."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="replies")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for number in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    runtime = Overlapping()
    pollers = start(EventSource("Sender", "SQS", {"Queue": arn, "BatchSize": 1}), runtime)
    try:
        assert runtime.invoked.wait(25)
    finally:
        pollers.stop()
    assert not runtime.both_in_flight.broken
    assert sorted(record["body"] for batch in runtime.batches for record in batch) == ["0", "1"]
