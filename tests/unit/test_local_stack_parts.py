"""The local stack's translation of HTTP requests and event sources, checked against what AWS does."""

import base64
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from infra.local.event_sources import (
    Changes,
    EventSourcePollers,
    gather,
    matches_pattern,
    passes_filters,
    rate_seconds,
)
from infra.local.gateway import build_event, response_parts
from infra.local.runtime import FunctionRuntime, FunctionTimeout
from infra.local.stack import parse_parameter_overrides
from infra.local.state import service_of
from infra.local.template import EventSource, FunctionSpec, Resolver, Route, load_template
from tests.conftest import parsed_template


def test_routes_match_literal_and_parameter_paths() -> None:
    assert Route("GET", "/webhooks/x", "F").match("GET", "/webhooks/x") == {}
    assert Route("GET", "/webhooks/x", "F").match("POST", "/webhooks/x") is None
    assert Route("POST", "/r/{token}", "F").match("POST", "/r/abc-123") == {"token": "abc-123"}
    assert Route("POST", "/r/{token}", "F").match("POST", "/r/a/b") is None
    assert Route("ANY", "/files/{path+}", "F").match("GET", "/files/a/b") == {"path": "a/b"}


def test_http_api_event_has_payload_2_shape() -> None:
    route = Route("POST", "/webhooks/x", "F")
    headers = [
        ("Content-Type", "application/json"),
        ("X-Thing", "a"),
        ("X-Thing", "b"),
        ("Cookie", "a=1; b=2"),
    ]
    event = build_event(
        route, {}, "POST", "/webhooks/x?crc_token=abc&k=1&k=2", headers, b'{"a": 1}', "1.2.3.4"
    )
    assert event["version"] == "2.0" and event["routeKey"] == "POST /webhooks/x"
    assert event["rawPath"] == "/webhooks/x" and event["rawQueryString"] == "crc_token=abc&k=1&k=2"
    assert event["queryStringParameters"] == {"crc_token": "abc", "k": "1,2"}
    assert event["headers"]["content-type"] == "application/json" and event["headers"]["x-thing"] == "a,b"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/webhooks/x",
        "protocol": "HTTP/1.1",
        "sourceIp": "1.2.3.4",
        "userAgent": "",
    }
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False


def test_non_text_bodies_are_base64_encoded() -> None:
    route = Route("POST", "/r/{token}", "F")
    form = build_event(
        route,
        {"token": "t"},
        "POST",
        "/r/t",
        [("content-type", "application/x-www-form-urlencoded")],
        b"text=hi",
        "127.0.0.1",
    )
    assert form["isBase64Encoded"] is True and base64.b64decode(form["body"]) == b"text=hi"
    assert form["pathParameters"] == {"token": "t"}
    binary_json = build_event(
        route, {}, "POST", "/r/t", [("content-type", "application/json")], b"\xff", "::1"
    )
    assert binary_json["isBase64Encoded"] is True


def test_response_parts_read_format_2() -> None:
    status, headers, cookies, body = response_parts(
        {
            "statusCode": 201,
            "headers": {"X-A": "1"},
            "cookies": ["c=1"],
            "body": "aGk=",
            "isBase64Encoded": True,
        }
    )
    assert (status, headers, cookies, body) == (201, {"x-a": "1"}, ["c=1"], b"hi")
    assert response_parts({"ok": True}) == (200, {"content-type": "application/json"}, [], b'{"ok": true}')


def test_resolver_evaluates_the_intrinsics_the_template_uses() -> None:
    resolver = Resolver(
        parameters={"Stage": "local", "AWS::Region": "us-east-1", "Base": ""},
        refs={"Table": "t-name"},
        attributes={"Queue.Arn": "arn:q"},
        conditions={"HasBase": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Base"}, ""]}]}},
    )
    assert (
        resolver.resolve({"Fn::Sub": "socialcare-${Stage}-${Table}-${Queue.Arn}"})
        == "socialcare-local-t-name-arn:q"
    )
    assert resolver.resolve({"Fn::Sub": ["${X}/y", {"X": {"Ref": "Table"}}]}) == "t-name/y"
    assert resolver.resolve({"Fn::If": ["HasBase", "yes", {"Fn::GetAtt": ["Queue", "Arn"]}]}) == "arn:q"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-local"
    with pytest.raises(KeyError):
        resolver.resolve({"Ref": "Missing"})


def test_template_functions_have_handlers_and_routes() -> None:
    template = load_template()
    assert template.functions, "the template defines functions"
    for spec in template.functions.values():
        module, _, attribute = spec.handler.rpartition(".")
        source = (spec.code_dir / f"{module}.py").read_text()
        assert f"def {attribute}(" in source, f"{spec.logical_id} has no {spec.handler}"
    assert {r.route_key for r in template.routes} >= {"GET /webhooks/x", "POST /webhooks/x"}


def test_event_filter_patterns() -> None:
    record = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"entity": {"S": "mention"}, "status": {"S": "new"}}},
    }
    assert matches_pattern(
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["mention"]}}}}, record
    )
    assert not matches_pattern({"eventName": ["MODIFY"]}, record)
    assert matches_pattern(
        {"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["ours"]}]}}}}, record
    )
    assert matches_pattern({"dynamodb": {"NewImage": {"entity": {"S": [{"prefix": "men"}]}}}}, record)
    assert matches_pattern({"dynamodb": {"NewImage": {"gone": [{"exists": False}]}}}, record)
    filters = {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["reply"]}})}]}
    assert passes_filters(filters, {"body": '{"kind": "reply"}'})
    # boto3 gives a stream record's time as a datetime: matched as the JSON Lambda sees.
    stream_filters = {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]}
    timed = {**record, "dynamodb": {"ApproximateCreationDateTime": datetime.now(UTC), **record["dynamodb"]}}
    assert passes_filters(stream_filters, timed)
    assert not passes_filters(filters, {"body": '{"kind": "other"}'})
    assert passes_filters(None, {"anything": 1})


def test_rate_expressions() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(2 hours)") == 7200
    with pytest.raises(ValueError, match="rate"):
        rate_seconds("cron(0 12 * * ? *)")


def test_parameter_overrides_read_like_sam_deploy() -> None:
    declared = parsed_template().document["Parameters"]
    overrides = parse_parameter_overrides(
        "LogLevel=DEBUG  EscalationMinutes='urgent=1,normal=2,low=3'", declared
    )
    assert overrides == {"LogLevel": "DEBUG", "EscalationMinutes": "urgent=1,normal=2,low=3"}
    assert parse_parameter_overrides("", declared) == {}
    with pytest.raises(ValueError, match="LogLevel must be one of"):
        parse_parameter_overrides("LogLevel=LOUD", declared)
    with pytest.raises(ValueError, match="does not match"):
        parse_parameter_overrides("EscalationMinutes=soon", declared)
    with pytest.raises(ValueError, match="among"):
        parse_parameter_overrides("LogLevl=DEBUG", declared)


def test_the_runtime_ends_an_invocation_at_the_functions_timeout(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import threading\n"
        "release = threading.Event()\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('hang'):\n"
        "        release.wait(30)\n"
        "    return {'statusCode': 200, 'left_ms': context.get_remaining_time_in_millis()}\n"
    )
    runtime = FunctionRuntime(
        {"Slow": FunctionSpec("Slow", tmp_path, "app.lambda_handler", timeout=1)}, log=print
    )
    assert runtime.invoke("Slow", {})["statusCode"] == 200
    with pytest.raises(FunctionTimeout, match="Slow: task timed out after 1 seconds"):
        runtime.invoke("Slow", {"hang": True})
    runtime.module("Slow").release.set()  # let the abandoned invocation's thread end


def test_a_stream_batch_that_fails_is_bisected_down_to_the_poison_record() -> None:
    invoked: list[list[str]] = []

    class PoisonedBy3:
        def invoke(self, function: str, event: dict[str, Any], summary: str = "") -> dict[str, Any]:
            numbers = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
            invoked.append(numbers)
            if "3" in numbers:
                raise RuntimeError("poison")
            return {}

    logged: list[str] = []
    pollers = EventSourcePollers([], Resolver({}, {}, {}), PoisonedBy3(), "http://unused", log=logged.append)  # type: ignore[arg-type]
    records = [{"dynamodb": {"SequenceNumber": str(n)}} for n in range(1, 5)]
    properties = {"BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 0}
    pollers._deliver_stream_batch(EventSource("F", "DynamoDB", {}), records, properties)
    assert invoked == [["1", "2", "3", "4"], ["1", "2"], ["3", "4"], ["3"], ["4"]]
    assert any("1 stream records out of retries" in line for line in logged)


def test_log_lines_name_their_own_function_when_invocations_overlap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One Powertools Logger serves every handler in the local stack: the first invocation's lines must not
    carry the name the second one appended while the first was still running."""
    (tmp_path / "app.py").write_text(
        "import threading\n"
        "from aws_lambda_powertools import Logger\n"
        "logger = Logger(service='local-runtime-test')\n"
        "entered, release = threading.Event(), threading.Event()\n"
        "@logger.inject_lambda_context\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('wait'):\n"
        "        entered.set()\n"
        "        release.wait(10)\n"
        "    logger.info('done', tag=event['tag'])\n"
        "    return {}\n"
    )
    specs = {
        name: FunctionSpec(name, tmp_path, "app.lambda_handler", timeout=10) for name in ("First", "Second")
    }
    specs["Second"] = FunctionSpec("Second", tmp_path, "app.lambda_handler", timeout=10)
    runtime = FunctionRuntime(specs, log=lambda _line: None)
    module = runtime.module("First")
    runtime._modules["Second"] = module  # one module, one Logger, as the layer's shared logger is
    first = threading.Thread(target=runtime.invoke, args=("First", {"wait": True, "tag": "first"}))
    first.start()
    assert module.entered.wait(10)
    runtime.invoke("Second", {"tag": "second"})
    module.release.set()
    first.join()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {line["tag"]: line["function_name"] for line in lines} == {"first": "First", "second": "Second"}


class Arrivals:
    """Records arriving at set moments, read as a poller reads them, on a clock the test moves."""

    def __init__(self, arrivals: list[tuple[float, str]]) -> None:
        self.arrivals = arrivals
        self.now = 0.0
        self.taken = 0
        self.waits: list[float] = []

    def read(self, limit: int) -> list[dict[str, Any]]:
        ready = [name for at, name in self.arrivals[self.taken :] if at <= self.now][:limit]
        self.taken += len(ready)
        return [{"id": name} for name in ready]

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


def test_an_idle_poller_wakes_on_the_next_change_and_not_on_an_old_one() -> None:
    changes = Changes()
    seen = changes.count("stream")
    changes.changed("dynamodb")
    assert changes.wait_after("stream", seen, timeout=60), "a change made before the wait is not missed"
    assert not changes.wait_after("stream", changes.count("stream"), timeout=0.01), (
        "no change: the wait runs out"
    )

    start = threading.Barrier(2)
    woken: list[bool] = []
    seen = changes.count("stream")

    def idle_poller() -> None:
        start.wait()
        woken.append(changes.wait_after("stream", seen, timeout=60))

    poller = threading.Thread(target=idle_poller)
    poller.start()
    start.wait()
    changes.changed("dynamodb")
    poller.join()
    assert woken == [True]


def test_a_write_wakes_only_the_pollers_it_can_give_something_to_read() -> None:
    changes = Changes()
    before = {poller: changes.count(poller) for poller in ("stream", "queue", "topic")}

    def moved() -> set[str]:
        now = {poller: changes.count(poller) for poller in before}
        moved = {poller for poller in now if now[poller] != before[poller]}
        before.update(now)
        return moved

    changes.changed("dynamodb")  # a put: a stream record, no message
    assert moved() == {"stream"}
    changes.changed("sqs")
    assert moved() == {"queue"}
    changes.changed("sns")  # a publish, a text sent: its topic's followers
    assert moved() == {"topic"}
    changes.changed("events")  # any other service, or an unsigned request: everyone looks
    assert moved() == {"stream", "queue", "topic"}
    changes.changed()
    assert moved() == {"stream", "queue", "topic"}


def test_a_requests_service_is_read_from_its_signature() -> None:
    signed = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert service_of({"authorization": signed}) == "dynamodb"
    assert service_of({"authorization": signed.replace("/dynamodb/", "/sqs/")}) == "sqs"
    assert service_of({}) == ""
    assert service_of({"authorization": "Bearer token"}) == ""


def test_a_batching_window_gathers_late_records_until_the_batch_is_full() -> None:
    stream = Arrivals([(0, "a"), (0.3, "b"), (0.5, "c"), (0.6, "d")])
    assert ids(gather(stream.read, 3, 5.0, stream.wait, clock=lambda: stream.now)) == ["a", "b", "c"]
    assert sum(stream.waits) < 1  # it went as soon as the batch was full, well before the window's end


def test_a_batching_window_ends_with_what_came() -> None:
    stream = Arrivals([(0, "a"), (0.3, "b"), (9, "late")])
    assert ids(gather(stream.read, 10, 1.0, stream.wait, clock=lambda: stream.now)) == ["a", "b"]
    assert sum(stream.waits) == pytest.approx(1.0)


def test_without_a_window_or_with_a_full_batch_nothing_waits() -> None:
    stream = Arrivals([(0, "a"), (0.1, "b")])
    assert ids(gather(stream.read, 10, 0, stream.wait, clock=lambda: stream.now)) == ["a"]
    full = Arrivals([(0, "a"), (0, "b")])
    assert ids(gather(full.read, 2, 5.0, full.wait, clock=lambda: full.now)) == ["a", "b"]
    empty = Arrivals([(1, "later")])
    assert gather(empty.read, 2, 5.0, empty.wait, clock=lambda: empty.now) == []
    assert stream.waits == full.waits == empty.waits == []


def test_a_stopping_poller_invokes_with_what_it_gathered() -> None:
    stream = Arrivals([(0, "a"), (0.3, "b")])
    assert ids(gather(stream.read, 10, 5.0, lambda _s: True, clock=lambda: stream.now)) == ["a"]


class _Recorder(BaseHTTPRequestHandler):
    """Stands for AWS and for a platform: records every request that reaches it."""

    reached: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.reached.append(f"{self.command} {self.path}")
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_timed_out_invocation_reaches_no_aws_api_and_no_platform(tmp_path: Path) -> None:
    """Lambda stops a timed-out sandbox; the local stack cannot stop the thread, so it cuts it off: from the
    timeout on, its AWS calls and HTTP requests raise instead of reaching anything (a late write or post
    after the message came back would be a bug only the local stack has)."""
    (tmp_path / "app.py").write_text(
        "import threading\n"
        "import boto3, requests\n"
        "release, finished = threading.Event(), threading.Event()\n"
        "outcomes = []\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('hang'):\n"
        "        release.wait(30)\n"
        "    sqs = boto3.client('sqs', region_name='us-east-1', endpoint_url=event['url'],\n"
        "                       aws_access_key_id='local', aws_secret_access_key='local')\n"
        "    for call in (sqs.list_queues, lambda: requests.post(event['url'] + '/2/tweets', timeout=5)):\n"
        "        try:\n"
        "            call()\n"
        "            outcomes.append('reached')\n"
        "        except Exception as error:\n"
        "            outcomes.append(type(error).__name__)\n"
        "    finished.set()\n"
        "    return {'statusCode': 200}\n"
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    _Recorder.reached = []
    try:
        runtime = FunctionRuntime(
            {"Slow": FunctionSpec("Slow", tmp_path, "app.lambda_handler", timeout=1)}, log=lambda _: None
        )
        module = runtime.module("Slow")
        assert runtime.invoke("Slow", {"url": url})["statusCode"] == 200
        assert len(_Recorder.reached) == 2 and module.outcomes == ["reached", "reached"]

        module.finished.clear()
        with pytest.raises(FunctionTimeout):
            runtime.invoke("Slow", {"url": url, "hang": True})
        module.release.set()  # the abandoned run goes on, as its thread cannot be stopped
        assert module.finished.wait(10)
        assert module.outcomes[2:] == ["InvocationEnded", "InvocationEnded"]
        assert len(_Recorder.reached) == 2, "nothing of the timed-out run reached AWS or the platform"
    finally:
        server.shutdown()
        server.server_close()


def test_a_stream_batch_whose_invocation_timed_out_is_tried_again(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import threading\n"
        "release = threading.Event()\n"
        "batches = []\n"
        "def lambda_handler(event, context):\n"
        "    batches.append([r['dynamodb']['SequenceNumber'] for r in event['Records']])\n"
        "    if len(batches) == 1:\n"
        "        release.wait(30)\n"
        "    return {'batchItemFailures': []}\n"
    )
    logged: list[str] = []
    runtime = FunctionRuntime(
        {"Stream": FunctionSpec("Stream", tmp_path, "app.lambda_handler", timeout=1)}, log=logged.append
    )
    module = runtime.module("Stream")
    pollers = EventSourcePollers([], Resolver({}, {}, {}), runtime, "http://unused", log=logged.append)
    records = [{"dynamodb": {"SequenceNumber": str(n)}} for n in (1, 2)]
    properties = {"MaximumRetryAttempts": 2, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    try:
        pollers._deliver_stream_batch(EventSource("Stream", "DynamoDB", {}), records, properties)
    finally:
        module.release.set()
    assert module.batches == [["1", "2"], ["1", "2"]], "the timed-out batch came again, whole"
    assert any("Stream stream x2 -> timeout" in line for line in logged)
    assert not any("out of retries" in line for line in logged)
