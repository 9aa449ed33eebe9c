"""Plays Lambda's event source mappings for the template's non-HTTP events: DynamoDB streams and SQS
queues are polled in moto, schedules tick, SNS topics deliver what is published to them, and the handlers
receive the events Lambda would send them, with the template's batch sizes, filter criteria, partial batch
failures and retry limits."""

import contextlib
import functools
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.local.runtime import FunctionRuntime
from infra.local.stack import ACCOUNT_ID, REGION
from infra.local.state import StreamPositions
from infra.local.template import EventSource, Resolver


@functools.lru_cache(maxsize=64)
def _pattern(raw: str) -> Any:
    """Lambda's filter criteria are EventBridge patterns: moto's maintained matcher reads them."""
    from moto.events.models import EventPattern, EventPatternParser

    return EventPattern(raw, EventPatternParser(raw).parse())


def matches_pattern(pattern: dict[str, Any], value: dict[str, Any]) -> bool:
    raw = json.dumps(pattern, sort_keys=True)
    return bool(_pattern(raw).matches_event(value))


def passes_filters(filter_criteria: dict[str, Any] | None, record: dict[str, Any]) -> bool:
    filters = (filter_criteria or {}).get("Filters") or []
    if not filters:
        return True
    # As JSON, as Lambda sees it: boto3 hands stream records' times over as datetimes.
    subject = json.loads(json.dumps(record, default=str))
    if isinstance(subject.get("body"), str):  # SQS filters look into a JSON body
        with contextlib.suppress(ValueError):
            subject["body"] = json.loads(subject["body"])
    return any(bool(_pattern(f["Pattern"]).matches_event(subject)) for f in filters)


def gather(
    read: Callable[[int], list[dict[str, Any]]],
    batch_size: int,
    window: float,
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Lambda's batching window (MaximumBatchingWindowInSeconds): once records are waiting but fewer than a
    batch, keep reading for up to `window` seconds, then invoke with what came; a full batch goes at once.
    `read(n)` returns up to n more records; `wait(seconds)` returns True when the poller is stopping."""
    records = read(batch_size)
    deadline = clock() + window
    while records and len(records) < batch_size:
        left = deadline - clock()
        if left <= 0 or wait(min(left, 0.2)):
            break
        records += read(batch_size - len(records))
    return records


def rate_seconds(expression: str) -> float:
    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not found:
        raise ValueError(f"the local stack runs rate(...) schedules only, not {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit


# An idle poller sleeps until moto's next change, or this long at most. A queue message whose delay or
# visibility timeout runs out appears without a write, so one poller per queue looks every second; stream
# records and topic messages appear only by a write, and their pollers look again only as a safety net.
IDLE_SECONDS = 1.0
IDLE_SECONDS_WITHOUT_WRITES = 10.0


# What a write to each service can give an idle poller to read: DynamoDB's writes make stream records, SQS's
# make messages, and an SNS publish reaches its topic's followers. A write to any other service wakes every
# poller. (Waking the queue pollers on every DynamoDB write and every text sent cost each mention's dispatch
# ten empty receives, over half of the local stack's requests under load.) A queue subscribed to a topic,
# which the template has none of, gets its messages without an SQS write: the first queue poller's look every
# IDLE_SECONDS finds them.
POLLERS = ("stream", "queue", "topic")
WOKEN_BY_SERVICE = {"dynamodb": ("stream",), "sqs": ("queue",), "sns": ("topic",)}


class Changes:
    """A count of moto's state changes per kind of poller. The moto server counts each write for the pollers
    it concerns; an idle poller waits for its kind's count to move instead of asking moto five times a
    second, so an idle stack costs little and a new record is read at once."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(POLLERS, 0)
        self._condition = threading.Condition()

    def count(self, poller: str) -> int:
        with self._condition:
            return self._counts[poller]

    def changed(self, service: str = "") -> None:
        """A write to `service` (as AWS names it in a request's signature); "" wakes every poller."""
        with self._condition:
            for poller in WOKEN_BY_SERVICE.get(service, POLLERS):
                self._counts[poller] += 1
            self._condition.notify_all()

    def wait_after(self, poller: str, seen: int, timeout: float) -> bool:
        """True once `poller`'s count is past `seen` (at once if it already is); False after `timeout`."""
        with self._condition:
            return self._condition.wait_for(lambda: self._counts[poller] != seen, timeout)


# Lambda reads a queue with five batches in flight at first (more as the queue grows), or at most the event
# source's ScalingConfig.MaximumConcurrency: a slow batch does not hold up the next. One batch at a time per
# stream shard, and one per schedule. (A MaximumConcurrency of 1, below what AWS takes, runs one poller.)
QUEUE_POLLERS = 5


def _pollers_of(source: EventSource) -> int:
    if source.kind != "SQS":
        return 1
    limit = source.properties.get("ScalingConfig", {}).get("MaximumConcurrency")
    return min(QUEUE_POLLERS, int(limit)) if isinstance(limit, int) else QUEUE_POLLERS


class EventSourcePollers:
    def __init__(
        self,
        sources: list[EventSource],
        resolver: Resolver,
        runtime: FunctionRuntime,
        endpoint_url: str,
        schedule_seconds: float | None = None,
        log: Callable[[str], None] | None = None,
        positions: StreamPositions | None = None,
        changes: Changes | None = None,
    ) -> None:
        self._sources = sources
        self._changes = changes or Changes()
        self._positions = positions or StreamPositions(None)
        self._resolver = resolver
        self._runtime = runtime
        self._endpoint_url = endpoint_url
        self._schedule_seconds = schedule_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def start(self) -> None:
        for source in self._sources:
            target = {
                "DynamoDB": self._poll_stream,
                "SQS": self._poll_queue,
                "Schedule": self._tick,
                "ScheduleV2": self._tick,
                "SNS": self._follow_topic,
            }.get(source.kind)
            if target is None:
                self._log(f"[local] {source.function}: event type {source.kind} is not run locally")
                continue
            for index in range(_pollers_of(source)):
                idle = IDLE_SECONDS if source.kind == "SQS" and index == 0 else IDLE_SECONDS_WITHOUT_WRITES
                thread = threading.Thread(target=self._guard, args=(target, source, idle), daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Stops within a few seconds: a poller inside a long invocation is a daemon thread and is left."""
        self._stop.set()
        self._changes.changed()  # wakes the idle pollers, which then see the stop
        deadline = time.monotonic() + 3
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _idle(self, poller: str, seen: int, limit: float) -> None:
        """Nothing to read: wait for the next change for `poller` after `seen`, a stop, or `limit` seconds."""
        if not self._stop.is_set():
            self._changes.wait_after(poller, seen, limit)

    def _guard(self, target: Callable[[EventSource, float], None], source: EventSource, idle: float) -> None:
        while not self._stop.is_set():
            try:
                target(source, idle)
            except Exception as error:  # a poller must outlive a moto hiccup, as Lambda's does
                self._log(f"[local] {source.function} {source.kind} poller: {error!r}; retrying")
                self._stop.wait(1)

    # ---------------------------------------------------------------- DynamoDB streams
    def _poll_stream(self, source: EventSource, idle: float) -> None:
        """Reads the stream from a fresh iterator after the last record handled, on every round: moto puts a
        copy of the table in place when a transaction is cancelled, and an iterator of the discarded table
        would never see another record. Resuming by sequence number also carries a restart."""
        properties = self._resolver.resolve(source.properties)
        stream_arn = properties["Stream"]
        batch_size = int(properties.get("BatchSize", 100))
        window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        position_key = f"{source.function}:{stream_arn.split('/stream/')[0]}"
        streams = boto3.client("dynamodbstreams", endpoint_url=self._endpoint_url, region_name=REGION)
        # moto's table stream has one shard whose id stays the same in a copy of the table: described once.
        description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        shard_ids = [shard["ShardId"] for shard in description["Shards"]]
        while not self._stop.is_set():
            seen = self._changes.count("stream")
            got_any = False
            for shard_id in shard_ids:
                last = self._positions.get(position_key)
                start = str(properties.get("StartingPosition", "TRIM_HORIZON"))
                read = self._shard_reader(streams, stream_arn, shard_id, last, start)
                records = gather(read, batch_size, window, self._stop.wait)
                if not records:
                    continue
                got_any = True
                last = records[-1]["dynamodb"]["SequenceNumber"]
                records = [r for r in records if passes_filters(properties.get("FilterCriteria"), r)]
                if records:
                    self._deliver_stream_batch(source, records, properties)
                self._positions.set(position_key, last)
            if not got_any:
                self._idle("stream", seen, idle)

    def _shard_reader(
        self, streams: Any, stream_arn: str, shard_id: str, after: str | None, start: str
    ) -> Callable[[int], list[dict[str, Any]]]:
        """Reads the shard after `after` (from `start` for None), each call after the last record read."""
        last = after

        def read(limit: int) -> list[dict[str, Any]]:
            nonlocal last
            where: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                if last
                else {"ShardIteratorType": start}
            )
            iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **where)
            answer = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)
            records = [dict(record, eventSourceARN=stream_arn) for record in answer["Records"]]
            if records:
                last = records[-1]["dynamodb"]["SequenceNumber"]
            return records

        return read

    def _deliver_stream_batch(
        self, source: EventSource, records: list[dict[str, Any]], properties: dict[str, Any]
    ) -> None:
        """Lambda's stream retries: resume from the first reported failure; on a function error, split the
        batch in two when BisectBatchOnFunctionError says so (a poison record ends up alone); past
        MaximumRetryAttempts, the records go to the on-failure destination."""
        retries = int(properties.get("MaximumRetryAttempts", 3))
        report_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        bisect = bool(properties.get("BisectBatchOnFunctionError", False))
        attempt = 0
        while records and not self._stop.is_set():
            try:
                result = self._runtime.invoke(
                    source.function, {"Records": records}, f"stream x{len(records)}"
                )
                failed = _failed_ids(result) if report_failures else set()
                if not failed:
                    return
                # Lambda resumes from the first failed sequence number.
                first = next(
                    i for i, r in enumerate(records) if r["dynamodb"].get("SequenceNumber") in failed
                )
                records = records[first:]
            except Exception as error:
                self._log(f"[local] {source.function} stream batch failed: {error!r}")
                if bisect and len(records) > 1:
                    middle = len(records) // 2
                    self._deliver_stream_batch(source, records[:middle], properties)
                    self._deliver_stream_batch(source, records[middle:], properties)
                    return
            attempt += 1
            if retries >= 0 and attempt > retries:
                destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                self._send_to_failure_destination(source, records, destination)
                return
            self._stop.wait(min(2**attempt * 0.2, 5))

    def _send_to_failure_destination(
        self, source: EventSource, records: list[dict[str, Any]], destination: str | None
    ) -> None:
        self._log(f"[local] {source.function}: {len(records)} stream records out of retries")
        if not destination:
            return
        sqs = boto3.client("sqs", endpoint_url=self._endpoint_url, region_name=REGION)
        queue_url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[-1])["QueueUrl"]
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(
                {"requestContext": {"condition": "RetryAttemptsExhausted"}, "records": records}, default=str
            ),
        )

    # ---------------------------------------------------------------- SQS
    def _poll_queue(self, source: EventSource, idle: float) -> None:
        properties = self._resolver.resolve(source.properties)
        queue_arn = properties["Queue"]
        # Above 10 (with a batching window) a batch is gathered from several receives, as Lambda does.
        batch_size = int(properties.get("BatchSize", 10))
        window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        report_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        sqs = boto3.client("sqs", endpoint_url=self._endpoint_url, region_name=REGION)
        queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]

        def receive(limit: int) -> list[dict[str, Any]]:
            answer = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(limit, 10),
                WaitTimeSeconds=0,  # moto answers one request at a time: never hold it while waiting
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            return [dict(message) for message in answer.get("Messages", [])]

        while not self._stop.is_set():
            seen = self._changes.count("queue")
            messages = gather(receive, batch_size, window, self._stop.wait)
            if not messages:
                self._idle("queue", seen, idle)
                continue
            records = [_sqs_record(dict(message), queue_arn) for message in messages]
            try:
                result = self._runtime.invoke(source.function, {"Records": records}, f"sqs x{len(records)}")
            except Exception as error:  # the whole batch comes back after its visibility timeout
                self._log(f"[local] {source.function} sqs batch failed: {error!r}")
                continue
            failed = _failed_ids(result) if report_failures else set()
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done[start : start + 10])
                    ],
                )

    # ---------------------------------------------------------------- SNS
    def _follow_topic(self, source: EventSource, idle: float) -> None:
        """SNS invokes a subscribed function once per message, asynchronously, and retries a failed
        invocation twice. moto runs in this process and keeps what each topic was given in order."""
        from moto.sns.models import sns_backends  # moto is a dev dependency: imported where it is used

        topic_arn = self._resolver.resolve(source.properties)["Topic"]
        backend = sns_backends[ACCOUNT_ID][REGION]
        seen = len(backend.topics[topic_arn].sent_notifications)  # what was published before subscribing
        subscription_arn = f"{topic_arn}:{uuid.uuid4()}"
        while not self._stop.is_set():
            changes_seen = self._changes.count("topic")
            published = list(backend.topics[topic_arn].sent_notifications[seen:])
            if not published:
                self._idle("topic", changes_seen, idle)
                continue
            seen += len(published)
            for message_id, message, subject, attributes, _group in published:
                event = sns_event(topic_arn, subscription_arn, message_id, message, subject, attributes)
                for attempt in range(3):
                    try:
                        self._runtime.invoke(source.function, event, "sns")
                        break
                    except Exception as error:
                        self._log(f"[local] {source.function} sns delivery {attempt + 1} failed: {error!r}")
                        self._stop.wait(1)

    # ---------------------------------------------------------------- schedules
    def _tick(self, source: EventSource, _idle: float) -> None:
        properties = self._resolver.resolve(source.properties)
        expression = properties.get("Schedule") or properties.get("ScheduleExpression", "")
        interval = self._schedule_seconds or rate_seconds(expression)
        while not self._stop.wait(interval):
            try:
                self.run_now(source)
            except Exception as error:
                self._log(f"[local] {source.function} scheduled run failed: {error!r}")

    def schedules(self) -> dict[str, EventSource]:
        """The scheduled event sources by name (<function>/<event>): `/_local/schedules/<name>` runs one."""
        return {f"{s.function}/{s.name}": s for s in self._sources if s.kind in ("Schedule", "ScheduleV2")}

    def run_now(self, source: EventSource) -> Any:
        """One scheduled run, now: the schedule's Input when it has one (as EventBridge sends it), else
        EventBridge's Scheduled Event."""
        properties = self._resolver.resolve(source.properties)
        if properties.get("Input"):
            return self._runtime.invoke(source.function, json.loads(properties["Input"]), "schedule")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        return self._runtime.invoke(source.function, event, "schedule")


def sns_event(
    topic_arn: str,
    subscription_arn: str,
    message_id: str,
    message: str,
    subject: str | None,
    attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    """The event SNS gives a subscribed Lambda function: one record, the message as a string."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                    "MessageAttributes": {
                        name: {"Type": value.get("Type", "String"), "Value": value.get("Value")}
                        for name, value in (attributes or {}).items()
                    },
                },
            }
        ]
    }


def _failed_ids(result: Any) -> set[str]:
    if not isinstance(result, dict):
        return set()
    return {str(item["itemIdentifier"]) for item in result.get("batchItemFailures") or []}


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
        "sentAt": time.time(),
    }
