"""A function that runs past its template Timeout in the local stack fails as it does on Lambda: its SQS
batch is not deleted and comes back after the queue's visibility timeout, and what the timed-out run
returns later (here: "every record done") is not acted on."""

import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from infra.local.event_sources import EventSourcePollers
from infra.local.runtime import FunctionRuntime
from infra.local.stack import REGION
from infra.local.system import free_port
from infra.local.template import EventSource, FunctionSpec, Resolver

pytestmark = pytest.mark.integration

HANDLER = """\
import threading
entered, release, second = threading.Event(), threading.Event(), threading.Event()
receives = []
def lambda_handler(event, context):
    (record,) = event["Records"]
    receives.append(record["attributes"]["ApproximateReceiveCount"])
    if len(receives) == 1:
        entered.set()
        release.wait(30)  # past the 1 s timeout: the caller gives up; then it says all went well
    else:
        second.set()
    return {"batchItemFailures": []}
"""


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def wait_for(event: threading.Event, what: str) -> None:
    assert event.wait(30), f"timed out waiting for {what}"


def test_a_timed_out_sqs_invocation_leaves_its_message_to_come_back(moto_url: str, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    queue_url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"job": 1}')
    logged: list[str] = []
    timed_out = threading.Event()

    def log(line: str) -> None:
        logged.append(line)
        if "-> timeout" in line:
            timed_out.set()

    runtime = FunctionRuntime(
        {"Worker": FunctionSpec("Worker", tmp_path, "app.lambda_handler", timeout=1)}, log=log
    )
    module = runtime.module("Worker")
    properties = {"Queue": queue_arn, "BatchSize": 1, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    pollers = EventSourcePollers(
        [EventSource("Worker", "SQS", properties)], Resolver({}, {}, {}), runtime, moto_url, log=log
    )
    pollers.start()
    try:
        wait_for(module.entered, "the first invocation")
        wait_for(timed_out, "the invocation's timeout")
        module.release.set()  # the abandoned run now answers "all done": too late to count
        wait_for(module.second, "the message to come back")
    finally:
        module.release.set()
        pollers.stop()
    assert module.receives == ["1", "2"]
    assert any("Worker sqs x1 -> timeout" in line for line in logged)
