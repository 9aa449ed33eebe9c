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
from socialcare.aws_clients import session as socialcare_session


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


class _Walk:
    """One mention from webhook to SMS and one reply from the form post to the platform, through the
    template's functions in-process, each handler timed and every AWS call our code makes counted."""

    def __init__(self, runtime: FunctionRuntime, stream: "StreamReader", counter: "CallCounter") -> None:
        self.counter, self.stream = counter, stream
        self.webhook, self.dispatcher = (
            runtime.handler("XWebhookFunction"),
            runtime.handler("DispatcherFunction"),
        )
        self.page, self.sender = runtime.handler("ReplyPageFunction"), runtime.handler("ReplySenderFunction")
        self.webhook_calls: Counter[str] = Counter()
        self.durations: dict[str, float] = {}

    def timed(self, name: str, handler: Any, event: dict[str, Any]) -> Any:
        started = time.perf_counter()
        answer = handler(event, FakeContext())
        self.durations[name] = time.perf_counter() - started
        return answer

    def one_mention(self, event: dict[str, Any]) -> None:
        assert self.timed("XWebhookFunction", self.webhook, event)["statusCode"] == 200
        self.webhook_calls.update(self.counter.calls)
        counting, self.counter.counting = (
            self.counter.counting,
            False,
        )  # reading the stream is Lambda's poller
        records = self.stream.new_records()
        self.counter.counting = counting
        answer = self.timed("DispatcherFunction", self.dispatcher, {"Records": records})
        assert not answer.get("batchItemFailures"), answer

    def open_page(self, token: str) -> bytes:
        """The agent opens the page (not part of the reply's budget); the form they will post."""
        shown = self.timed("ReplyPageFunction.GET", self.page, page_event("GET", token, b""))
        assert shown["statusCode"] == 200, shown["body"][:500]
        nonce = re.search(r'name="nonce" value="([^"]+)"', shown["body"])
        assert nonce is not None, "the reply page has a form nonce"
        return urlencode({"nonce": nonce.group(1), "text": "Thanks, on it!"}).encode()

    def one_reply(self, token: str, form: bytes) -> None:
        posted = self.timed("ReplyPageFunction", self.page, page_event("POST", token, form))
        assert posted["statusCode"] == 200, posted["body"][:500]
        queue_url = os.environ["REPLY_QUEUE_URL"]
        self.counter.counting = False  # receiving from the queue is Lambda's poller, not our code
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])[
            "Messages"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.counter.counting = True
        records = [_sqs_record(dict(m), arn) for m in messages]
        answer = self.timed("ReplySenderFunction", self.sender, {"Records": records})
        assert not answer.get("batchItemFailures"), answer


def _provisioned(config: dict[str, Any], counter: "CallCounter") -> tuple[FunctionRuntime, "StreamReader"]:
    """The template's resources in moto, every function's environment, and an agent on shift."""
    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    # The functions' clients come from socialcare's own botocore session (socialcare.aws_clients); the
    # bench's own setup calls go through boto3's.
    for events in (session.events, socialcare_session().get_component("event_emitter")):
        events.register("before-call", counter)
        events.register("before-parameter-build", counter.billed)
    template = load_template()
    stack = LocalStack(template, endpoint_url=None, api_url="http://127.0.0.1:3000")  # type: ignore[arg-type]
    resolver = stack.provision(config)
    for logical_id in template.functions:
        os.environ.update(stack.function_environment(resolver, logical_id))
    runtime = FunctionRuntime(template.functions, log=lambda _line: None)
    add_agent_on_shift()
    return runtime, StreamReader(template, resolver.attributes["Table.StreamArn"])


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
        config["x"]["api_base"] = simulator.url
        walk = _Walk(*_provisioned(config, counter), counter)
        warm_up, measured = list(x_delivery_events(2, config["x"]["consumer_secret"]))
        walk.one_mention(warm_up)
        walk.webhook_calls.clear()
        _, mention_calls = counter.measure(lambda: walk.one_mention(measured))
        mention_units = counter.units
        token = texted_tokens()[-1]
        form, view_calls = counter.measure(lambda: walk.open_page(token))
        view_units = counter.units
        _, reply_calls = counter.measure(lambda: walk.one_reply(token, form))
        posted = [c for c in simulator.calls if c.path.endswith("/2/tweets")]
        assert len(posted) == 1, "the reply reached the platform once"
        reply_units = counter.units
    # Zero would mean the counter does not see the functions' clients, not that they make no call.
    assert sum(mention_calls.values()) and sum(reply_calls.values()), "AWS calls were counted"
    return {
        "aws_units": {"mention": dict(mention_units), "reply": dict(reply_units), "view": dict(view_units)},
        "handler_ms": {name: round(seconds * 1000, 1) for name, seconds in walk.durations.items()},
        "aws_calls_per_mention": sum(mention_calls.values()),
        "aws_calls_per_reply": sum(reply_calls.values()),
        "aws_calls_detail": {
            "webhook": dict(walk.webhook_calls),
            "dispatch": dict(mention_calls - walk.webhook_calls),
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
