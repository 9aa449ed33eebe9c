"""The whole system on this machine: a moto server, the template's resources in it, the gateway for its
routes and the pollers for its event sources. `make run` starts it; the integration tests start it too."""

import argparse
import faulthandler
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local import OUTPUTS_PATH
from infra.local.event_sources import Changes, EventSourcePollers
from infra.local.gateway import Gateway
from infra.local.moto_server import SerializedMotoServer
from infra.local.outbox import OUTBOX_PATH, Outbox
from infra.local.runtime import FunctionRuntime, shared_environment
from infra.local.stack import DEFAULT_STACK_NAME, REGION, LocalStack, parse_parameter_overrides
from infra.local.state import StreamPositions, reset, state_dir
from infra.local.template import TEMPLATE_PATH, EventSource, Resolver, load_template
from infra.simulator.server import PlatformSimulator, point_at_simulator

# A local-only route per scheduled function that runs it at once (the feed poller, the escalation sweep).
SCHEDULES_PATH = "/_local/schedules"
SES_RECEIPT_PATH = "/_local/ses-receipt"
JSON = {"content-type": "application/json"}
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[1] / "dev-config.json"
HOST = "127.0.0.1"

# What Lambda gives every function that the template does not: credentials for moto, and observability
# switched to what makes sense on a laptop.
LOCAL_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "POWERTOOLS_METRICS_DISABLED": "true",
    # moto has no End User Messaging SMS: texts from the two-way number go through SNS, to the outbox.
    "SMS_VIA_SNS": "true",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class LocalSystem:
    def __init__(
        self,
        moto_port: int,
        port: int,
        config: dict[str, Any],
        template_path: Path = TEMPLATE_PATH,
        stack_name: str = DEFAULT_STACK_NAME,
        schedule_seconds: float | None = None,
        log: Any = None,
        simulator_port: int | None = None,
        state_dir: Path | None = None,
        parameter_overrides: dict[str, str] | None = None,
    ) -> None:
        self.moto_port = moto_port
        self.port = port
        self.config = config
        self.template = load_template(template_path)
        self.endpoint_url = f"http://{HOST}:{moto_port}"
        self.api_url = f"http://{HOST}:{port}"
        self.stack = LocalStack(
            self.template,
            self.endpoint_url,
            self.api_url,
            stack_name,
            parameter_overrides=parameter_overrides or {},
        )
        self.schedule_seconds = schedule_seconds
        self._log = log
        # None: nothing is kept (tests); a folder: moto's changes are journaled there and replayed at start.
        self.state_dir = state_dir
        self.changes = Changes()  # moto counts its writes; idle pollers wait for the next one
        self.outbox = Outbox(state_dir=state_dir)  # what SNS "sent": `socialcare local outbox` reads it
        self.moto = SerializedMotoServer(
            ip_address=HOST,
            port=moto_port,
            verbose=False,
            state_dir=state_dir,
            after_send=self.outbox.observe,
            after_change=self.changes.changed,
        )
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines drown ours
        self.resolver: Resolver | None = None
        self.gateway: Gateway | None = None
        self.pollers: EventSourcePollers | None = None
        # The fake X and Graph APIs the reply sender posts to (None: platform URLs are left as configured).
        self.simulator = PlatformSimulator(HOST, simulator_port) if simulator_port is not None else None

    def start(self) -> "LocalSystem":
        os.environ.update(LOCAL_ENVIRONMENT)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.simulator is not None:
            try:
                self.simulator.start()
            except OSError as error:
                port = self.simulator.port
                raise SystemExit(f"the platform simulator cannot listen on port {port}: {error}") from error
            # The dev configuration expects the simulator at 127.0.0.1:4000; on another port (SIMULATOR_PORT,
            # or a free one for tests) the URLs that point there follow it, and no others.
            self.config = point_at_simulator(self.config, self.simulator.url)
        self.moto.start()
        self.resolver = self.stack.provision(self.config)
        environments = {
            logical_id: self.stack.function_environment(self.resolver, logical_id)
            for logical_id in self.template.functions
        }
        os.environ.update(shared_environment(environments))
        runtime = FunctionRuntime(self.template.functions, log=self._log, environments=environments)
        self.gateway = Gateway(self.template.routes, runtime, HOST, self.port)
        # Topics that carry messages to our functions (the agents' texts back) are not the outbox's.
        self.outbox.inbound_topics = frozenset(
            str(self.resolver.resolve(source.properties)["Topic"])
            for source in self.template.event_sources
            if source.kind == "SNS"
        )
        self.outbox.start()
        outbox = self.outbox
        self.gateway.local_routes[("GET", OUTBOX_PATH)] = lambda _body: outbox.http_response()
        self.gateway.local_routes[("GET", OUTPUTS_PATH)] = lambda _body: self.outputs_response()
        self.gateway.local_routes[("POST", SES_RECEIPT_PATH)] = self._ses_receipt(runtime)
        self.gateway.start()
        self.pollers = EventSourcePollers(
            self.template.event_sources,
            self.resolver,
            runtime,
            self.endpoint_url,
            self.schedule_seconds,
            self._log,
            StreamPositions(self.state_dir),
            self.changes,
        )
        self.pollers.start()
        for name, source in self.pollers.schedules().items():
            self.gateway.local_routes[("POST", f"{SCHEDULES_PATH}/{name}")] = self._run_now(source)
        return self

    def _run_now(self, source: EventSource) -> Callable[[bytes], tuple[int, dict[str, str], bytes]]:
        def run(_body: bytes) -> tuple[int, dict[str, str], bytes]:
            assert self.pollers is not None
            result = self.pollers.run_now(source)
            return 200, JSON, json.dumps(result, default=str).encode()

        return run

    def _ses_receipt(self, runtime: FunctionRuntime) -> Callable[[bytes], tuple[int, dict[str, str], bytes]]:
        """SES receiving has no local counterpart: `socialcare simulate email-reply` stores the raw message in
        the receipt rule's bucket (as its S3 action does) and posts the receipt event here, which runs the
        rule's Lambda action. A local-only admin route, not part of the template."""
        assert self.resolver is not None
        functions = [
            action["LambdaAction"]["FunctionArn"]["Fn::GetAtt"][0]
            for logical_id, resource in self.template.resources.items()
            if resource["Type"] == "AWS::SES::ReceiptRule" and self.stack.exists(logical_id, self.resolver)
            for action in resource["Properties"]["Rule"]["Actions"]
            if "LambdaAction" in action
        ]

        def receive(body: bytes) -> tuple[int, dict[str, str], bytes]:
            if not functions:
                return 404, JSON, b'{"message": "no SES receipt rule: set ReplyEmailDomain"}'
            results = [runtime.invoke(function, json.loads(body), "ses receipt") for function in functions]
            return 200, JSON, json.dumps({"results": results}, default=str).encode()

        return receive

    def stop(self) -> None:
        if self.pollers:
            self.pollers.stop()
        if self.gateway:
            self.gateway.stop()
        self.outbox.stop()
        if self.simulator:
            self.simulator.stop()
        self.moto.stop()

    def outputs(self) -> dict[str, str]:
        assert self.resolver is not None, "start() first"
        return self.stack.outputs(self.resolver)

    def outputs_response(self) -> tuple[int, dict[str, str], bytes]:
        """What the CLI needs to find the running stack: its outputs, moto's address, and the parameters it
        was started with (the CLI in another terminal may not have been given its SOCIALCARE_PARAMETERS)."""
        parameters = {
            name: str(value)
            for name, value in self.stack.parameters().items()
            if not name.startswith("AWS::")
        }
        body = json.dumps(
            {"endpoint_url": self.endpoint_url, "outputs": self.outputs(), "parameters": parameters}
        ).encode()
        return 200, {"content-type": "application/json"}, body

    def __enter__(self) -> "LocalSystem":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def load_config(path: str | None = None) -> dict[str, Any]:
    config_path = Path(path or os.environ.get("SOCIALCARE_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        document: dict[str, Any] = json.loads(config_path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot read the configuration document {config_path}: {error}") from error
    # Validate now, so a typo is reported at start-up and not as a 401 on the first webhook.
    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms import registry

    registry.check(PlatformConfig.model_validate(document))
    return document


def remembered(system: LocalSystem) -> str:
    """How much the local stack holds: agents, mentions, replies, reply links, queued messages, texts."""
    import boto3

    assert system.resolver is not None, "start() first"
    counts: Counter[str] = Counter()
    dynamodb = boto3.client("dynamodb", endpoint_url=system.endpoint_url, region_name=REGION)
    table = system.resolver.refs["Table"]
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="entity"):
        counts.update(item.get("entity", {}).get("S", "other") for item in page["Items"])
    sqs = boto3.client("sqs", endpoint_url=system.endpoint_url, region_name=REGION)
    queued = 0
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        queued += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    kinds = {"agent": "agents", "mention": "mentions", "reply": "replies", "reply_link": "reply links"}
    parts = [f"{counts[kind]} {plural}" for kind, plural in kinds.items()]
    parts += [f"{queued} queued messages", f"{len(system.outbox.messages())} sent texts and emails"]
    return ", ".join(parts)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local", description="the whole system on this machine"
    )
    parser.add_argument("--fresh", action="store_true", help="forget the kept state and start empty")
    options = parser.parse_args(arguments)
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    port = int(os.environ.get("PORT", "3000"))
    simulator_setting = os.environ.get("SIMULATOR_PORT", "4000").strip().lower()
    simulator_port = None if simulator_setting in ("", "off") else int(simulator_setting)
    state = state_dir()
    if options.fresh and reset(state):
        print(f"Forgot the kept state in {state}.", flush=True)
    template = load_template()
    try:
        overrides = parse_parameter_overrides(
            os.environ.get("SOCIALCARE_PARAMETERS", ""), template.document.get("Parameters", {})
        )
    except ValueError as error:
        raise SystemExit(str(error)) from error
    system = LocalSystem(
        moto_port,
        port,
        load_config(),
        simulator_port=simulator_port,
        state_dir=state,
        parameter_overrides=overrides,
    )
    system.start()
    outputs = system.outputs()
    print(f"Social Care is running locally (moto at {system.endpoint_url}).", flush=True)
    for name, value in sorted(outputs.items()):
        if value.startswith("http"):
            print(f"  {name:<24} {value}", flush=True)
    if system.simulator is not None:
        print(f"  {'PlatformSimulator':<24} {system.simulator.url}  (socialcare simulate calls)", flush=True)
    print(f"State kept in {state}: {remembered(system)}.", flush=True)
    print("  Start empty: stop, then `socialcare local reset` (or `make run FRESH=1`).", flush=True)
    print('Try: curl "' + system.api_url + '/webhooks/x?crc_token=abc"   Stop with Ctrl-C.', flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    # Python runs a signal's handler in the main thread, and a signal the kernel hands to another thread
    # does not wake a main thread blocked without a timeout: wake up now and then to let the handler run.
    while not stopped.wait(0.5):
        pass
    print("Stopping.", file=sys.stderr, flush=True)
    stop_and_exit(system)


STOP_LIMIT_SECONDS = 15


def stop_and_exit(system: LocalSystem) -> None:
    """Stops the servers and pollers, then ends the process without waiting for invocations in flight.

    Every acknowledged write is already on disk (the journal is flushed before moto answers), so an invocation
    still running is abandoned, as Lambda abandons one when its environment goes. Waiting for it instead could
    keep the process alive for a boto3 retry or a thread pool's queue. A stop that itself hangs prints every
    thread's stack to the log and exits with 1, so the hang can be found."""
    faulthandler.dump_traceback_later(STOP_LIMIT_SECONDS, exit=True)
    system.stop()
    faulthandler.cancel_dump_traceback_later()
    print("Stopped.", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
