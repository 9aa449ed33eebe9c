"""AWS calls our code makes for one mention (webhook to SMS) and for one reply (form post to platform),
counted with a botocore event hook on every client, in warm functions (the first mention warms them: the
configuration secret is cached and clients exist, as in a warm Lambda)."""

import json
import os
import re
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from moto import mock_aws

from bench.lambda_like import REPO_ROOT
from bench.stub_aws import FakeContext, x_delivery_events
from infra.local.event_sources import _sqs_record, passes_filters
from infra.local.gateway import build_event
from infra.local.runtime import FunctionRuntime
from infra.local.stack import REGION, LocalStack
from infra.local.template import Route, load_template
from infra.simulator.server import PlatformSimulator


class CallCounter:
    def __init__(self) -> None:
        self.counting = False
        self.calls: Counter[str] = Counter()
        self.units: Counter[str] = Counter()  # what the calls are billed by: items written, texts, emails

    def __call__(self, event_name: str, **_: Any) -> None:
        if self.counting:
            self.calls[event_name.removeprefix("before-call.")] += 1

    def billed(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        """The parameters of each call (before-parameter-build), for the cost: DynamoDB bills per item."""
        if not self.counting:
            return
        operation = event_name.removeprefix("before-parameter-build.")
        if operation == "dynamodb.TransactWriteItems":
            self.units["dynamodb.transact_write_items"] += len(params.get("TransactItems", []))
        elif operation in ("dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.DeleteItem"):
            self.units["dynamodb.write_items"] += 1
        elif operation == "dynamodb.BatchGetItem":
            keys = sum(len(table.get("Keys", [])) for table in params.get("RequestItems", {}).values())
            self.units["dynamodb.read_items"] += keys
        elif operation in ("dynamodb.GetItem", "dynamodb.Query"):
            self.units["dynamodb.read_items"] += 1
        elif operation == "sns.Publish":
            self.units["sns.sms" if params.get("PhoneNumber") else "sns.email"] += 1
        elif operation == "sqs.SendMessage":
            self.units["sqs.messages"] += 1

    def measure(self, action: Any) -> tuple[Any, Counter[str]]:
        self.calls = Counter()
        self.units = Counter()
        self.counting = True
        try:
            return action(), self.calls
        finally:
            self.counting = False


def aws_calls() -> dict[str, Any]:
    config = json.loads((REPO_ROOT / "infra" / "dev-config.json").read_text())
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    counter = CallCounter()
    with mock_aws(), PlatformSimulator() as simulator:
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("before-call", counter)
        session.events.register("before-parameter-build", counter.billed)
        config["x"]["api_base"] = simulator.url
        template = load_template()
        stack = LocalStack(template, endpoint_url=None, api_url="http://127.0.0.1:3000")  # type: ignore[arg-type]
        resolver = stack.provision(config)
        for logical_id in template.functions:
            os.environ.update(stack.function_environment(resolver, logical_id))
        runtime = FunctionRuntime(template.functions, log=lambda _line: None)
        add_agent_on_shift()
        stream = StreamReader(template, resolver.attributes["Table.StreamArn"])
        webhook, dispatcher = runtime.handler("XWebhookFunction"), runtime.handler("DispatcherFunction")
        page, sender = runtime.handler("ReplyPageFunction"), runtime.handler("ReplySenderFunction")

        webhook_calls: Counter[str] = Counter()

        durations: dict[str, float] = {}

        def timed(name: str, handler: Any, event: dict[str, Any]) -> Any:
            started = time.perf_counter()
            answer = handler(event, FakeContext())
            durations[name] = time.perf_counter() - started
            return answer

        def one_mention(event: dict[str, Any]) -> None:
            assert timed("XWebhookFunction", webhook, event)["statusCode"] == 200
            webhook_calls.update(counter.calls)
            counting, counter.counting = counter.counting, False  # reading the stream is Lambda's poller
            records = stream.new_records()
            counter.counting = counting
            answer = timed("DispatcherFunction", dispatcher, {"Records": records})
            assert not answer.get("batchItemFailures"), answer

        warm_up, measured = list(x_delivery_events(2, config["x"]["consumer_secret"]))
        one_mention(warm_up)
        webhook_calls.clear()
        _, mention_calls = counter.measure(lambda: one_mention(measured))
        mention_units = counter.units

        token = texted_tokens()[-1]
        # The agent opens the page first: not part of the reply's budget, but of what a reply costs.
        shown, view_calls = counter.measure(
            lambda: timed("ReplyPageFunction.GET", page, page_event("GET", token, b""))
        )
        view_units = counter.units
        assert shown["statusCode"] == 200, shown["body"][:500]
        nonce = re.search(r'name="nonce" value="([^"]+)"', shown["body"])
        assert nonce is not None, "the reply page has a form nonce"
        form = urlencode({"nonce": nonce.group(1), "text": "Thanks, on it!"}).encode()
        queue_url = os.environ["REPLY_QUEUE_URL"]

        def one_reply() -> None:
            posted = timed("ReplyPageFunction", page, page_event("POST", token, form))
            assert posted["statusCode"] == 200, posted["body"][:500]
            counter.counting = False  # receiving from the queue is Lambda's poller, not our code
            sqs = boto3.client("sqs")
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            )["Messages"]
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            counter.counting = True
            records = [_sqs_record(dict(m), arn) for m in messages]
            answer = timed("ReplySenderFunction", sender, {"Records": records})
            assert not answer.get("batchItemFailures"), answer

        _, reply_calls = counter.measure(one_reply)
        posted = [c for c in simulator.calls if c.path.endswith("/2/tweets")]
        assert len(posted) == 1, "the reply reached the platform once"
        reply_units = counter.units
    return {
        "aws_units": {"mention": dict(mention_units), "reply": dict(reply_units), "view": dict(view_units)},
        "handler_ms": {name: round(seconds * 1000, 1) for name, seconds in durations.items()},
        "aws_calls_per_mention": sum(mention_calls.values()),
        "aws_calls_per_reply": sum(reply_calls.values()),
        "aws_calls_detail": {
            "webhook": dict(webhook_calls),
            "dispatch": dict(mention_calls - webhook_calls),
            "reply": dict(reply_calls),
            "page_view": dict(view_calls),
        },
    }


def add_agent_on_shift() -> None:
    from datetime import UTC, datetime

    from socialcare.data import table
    from socialcare.data.agents import AgentStore
    from socialcare.people.agents import AgentService, build_agent
    from socialcare.settings import Notifications, Table, load

    table_name, topic = load(Table).table_name, load(Notifications).notification_topic_arn
    service = AgentService(AgentStore(table(table_name)), boto3.client("sns"), topic)
    now = datetime.now(UTC)
    service.add(build_agent(name="Bench", email="bench@example.com", phone="+14155550100"), now)
    service.set_schedule("bench@example.com", "Mon-Sun 00:00-24:00", "UTC", now)


class StreamReader:
    """The table stream as Lambda's event source mapping reads it: from where it left off, filtered."""

    def __init__(self, template: Any, stream_arn: str) -> None:
        function = template.document["Resources"]["DispatcherFunction"]["Properties"]
        self.criteria = function["Events"]["NewMentions"]["Properties"]["FilterCriteria"]
        self.stream_arn = stream_arn
        # moto answers the regional endpoint only, not the account-based one botocore picks for stream ARNs.
        self.client = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        shard = self.client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
        self.iterator = self.client.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def new_records(self) -> list[dict[str, Any]]:
        answer = self.client.get_records(ShardIterator=self.iterator)
        self.iterator = answer["NextShardIterator"]
        records = [
            json.loads(json.dumps(dict(r, eventSourceARN=self.stream_arn), default=str))
            for r in answer["Records"]
        ]
        return [r for r in records if passes_filters(self.criteria, r)]


def texted_tokens() -> list[str]:
    from moto.sns.models import sns_backends

    backend = sns_backends["123456789012"][REGION]
    return [
        re.findall(r"/r/([A-Za-z0-9_-]+)", message)[-1]
        for _phone, message, *_ in backend.sms_messages.values()
    ]


def page_event(method: str, token: str, body: bytes) -> dict[str, Any]:
    headers = [("host", "127.0.0.1:3000"), ("sec-fetch-site", "same-origin")]
    if body:
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    return build_event(
        Route(method, "/r/{token}", "ReplyPageFunction"),
        {"token": token},
        method,
        f"/r/{token}",
        headers,
        body,
        "198.51.100.9",
    )
