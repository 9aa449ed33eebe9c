"""Plays Lambda's event source mappings for the template's non-HTTP events: DynamoDB streams and SQS
queues are polled in moto, schedules tick, SNS topics deliver what is published to them, and the handlers
receive the events Lambda would send them, with the template's batch sizes, filter criteria, partial batch
failures and retry limits."""

import contextlib
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
from infra.local.template import EventSource, Resolver


def matches_pattern(pattern: Any, value: Any) -> bool:
    """Lambda event filtering: every key of the pattern must match; a list offers alternatives."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(_matches_key(value, key, sub) for key, sub in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_rule(rule, value) for rule in pattern)
    return bool(pattern == value)


def _matches_key(value: dict[str, Any], key: str, sub: Any) -> bool:
    if isinstance(sub, list) and any(isinstance(rule, dict) and "exists" in rule for rule in sub):
        wanted = next(rule["exists"] for rule in sub if isinstance(rule, dict) and "exists" in rule)
        return (key in value) == wanted
    if key not in value:
        return False
    return matches_pattern(sub, value[key])


def _matches_rule(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return value not in (excluded if isinstance(excluded, list) else [excluded])
        if "equals-ignore-case" in rule:
            return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
        return matches_pattern(rule, value)
    return bool(rule == value)


def passes_filters(filter_criteria: dict[str, Any] | None, record: dict[str, Any]) -> bool:
    filters = (filter_criteria or {}).get("Filters") or []
    if not filters:
        return True
    subject = dict(record)
    if isinstance(subject.get("body"), str):  # SQS filters look into a JSON body
        with contextlib.suppress(ValueError):
            subject["body"] = json.loads(subject["body"])
    return any(matches_pattern(json.loads(f["Pattern"]), subject) for f in filters)


def rate_seconds(expression: str) -> float:
    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not found:
        raise ValueError(f"the local stack runs rate(...) schedules only, not {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit


class EventSourcePollers:
    def __init__(
        self,
        sources: list[EventSource],
        resolver: Resolver,
        runtime: FunctionRuntime,
        endpoint_url: str,
        schedule_seconds: float | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._sources = sources
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
            thread = threading.Thread(target=self._guard, args=(target, source), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _guard(self, target: Callable[[EventSource], None], source: EventSource) -> None:
        while not self._stop.is_set():
            try:
                target(source)
            except Exception as error:  # a poller must outlive a moto hiccup, as Lambda's does
                self._log(f"[local] {source.function} {source.kind} poller: {error!r}; retrying")
                self._stop.wait(1)

    # ---------------------------------------------------------------- DynamoDB streams
    def _poll_stream(self, source: EventSource) -> None:
        properties = self._resolver.resolve(source.properties)
        stream_arn = properties["Stream"]
        batch_size = int(properties.get("BatchSize", 100))
        retries = int(properties.get("MaximumRetryAttempts", 3))
        report_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        on_failure = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        streams = boto3.client("dynamodbstreams", endpoint_url=self._endpoint_url, region_name=REGION)
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        iterators = {
            shard["ShardId"]: streams.get_shard_iterator(
                StreamArn=stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=properties.get("StartingPosition", "TRIM_HORIZON"),
            )["ShardIterator"]
            for shard in shards
        }
        while not self._stop.is_set():
            got_any = False
            for shard_id, iterator in list(iterators.items()):
                answer = streams.get_records(ShardIterator=iterator, Limit=batch_size)
                iterators[shard_id] = answer["NextShardIterator"]
                records = [dict(record, eventSourceARN=stream_arn) for record in answer["Records"]]
                records = [r for r in records if passes_filters(properties.get("FilterCriteria"), r)]
                if records:
                    got_any = True
                    self._deliver_stream_batch(source, records, retries, report_failures, on_failure)
            if not got_any:
                self._stop.wait(0.2)

    def _deliver_stream_batch(
        self,
        source: EventSource,
        records: list[dict[str, Any]],
        retries: int,
        report_failures: bool,
        on_failure: str | None,
    ) -> None:
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
            attempt += 1
            if retries >= 0 and attempt > retries:
                self._send_to_failure_destination(source, records, on_failure)
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
    def _poll_queue(self, source: EventSource) -> None:
        properties = self._resolver.resolve(source.properties)
        queue_arn = properties["Queue"]
        batch_size = min(int(properties.get("BatchSize", 10)), 10)
        report_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        sqs = boto3.client("sqs", endpoint_url=self._endpoint_url, region_name=REGION)
        queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        while not self._stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=batch_size,
                WaitTimeSeconds=0,  # moto answers one request at a time: never hold it while waiting
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                self._stop.wait(0.2)
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
    def _follow_topic(self, source: EventSource) -> None:
        """SNS invokes a subscribed function once per message, asynchronously, and retries a failed
        invocation twice. moto runs in this process and keeps what each topic was given in order."""
        from moto.sns.models import sns_backends  # moto is a dev dependency: imported where it is used

        topic_arn = self._resolver.resolve(source.properties)["Topic"]
        backend = sns_backends[ACCOUNT_ID][REGION]
        seen = len(backend.topics[topic_arn].sent_notifications)  # what was published before subscribing
        subscription_arn = f"{topic_arn}:{uuid.uuid4()}"
        while not self._stop.is_set():
            published = list(backend.topics[topic_arn].sent_notifications[seen:])
            if not published:
                self._stop.wait(0.2)
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
    def _tick(self, source: EventSource) -> None:
        properties = self._resolver.resolve(source.properties)
        expression = properties.get("Schedule") or properties.get("ScheduleExpression", "")
        interval = self._schedule_seconds or rate_seconds(expression)
        while not self._stop.wait(interval):
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
            try:
                self._runtime.invoke(source.function, event, "schedule")
            except Exception as error:
                self._log(f"[local] {source.function} scheduled run failed: {error!r}")


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
