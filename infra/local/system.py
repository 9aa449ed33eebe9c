"""The whole system on this machine: a moto server, the template's resources in it, the gateway for its
routes and the pollers for its event sources. `make run` starts it; the integration tests start it too."""

import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from infra.local import OUTPUTS_PATH
from infra.local.event_sources import EventSourcePollers
from infra.local.gateway import Gateway
from infra.local.moto_server import SerializedMotoServer
from infra.local.outbox import OUTBOX_PATH, Outbox
from infra.local.runtime import FunctionRuntime, apply_environment, merged_environment
from infra.local.stack import DEFAULT_STACK_NAME, REGION, LocalStack
from infra.local.template import TEMPLATE_PATH, Resolver, load_template
from infra.simulator.server import PlatformSimulator, point_at_simulator

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
    ) -> None:
        self.moto_port = moto_port
        self.port = port
        self.config = config
        self.template = load_template(template_path)
        self.endpoint_url = f"http://{HOST}:{moto_port}"
        self.api_url = f"http://{HOST}:{port}"
        self.stack = LocalStack(self.template, self.endpoint_url, self.api_url, stack_name)
        self.schedule_seconds = schedule_seconds
        self._log = log
        self.moto = SerializedMotoServer(ip_address=HOST, port=moto_port, verbose=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines drown ours
        self.resolver: Resolver | None = None
        self.gateway: Gateway | None = None
        self.pollers: EventSourcePollers | None = None
        self.outbox: Outbox | None = None
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
        apply_environment(merged_environment(environments))
        runtime = FunctionRuntime(self.template.functions, log=self._log)
        self.gateway = Gateway(self.template.routes, runtime, HOST, self.port)
        self.outbox = Outbox()  # what SNS "sent": `socialcare local outbox` reads it from the gateway
        self.outbox.start()
        self.gateway.local_routes[("GET", OUTBOX_PATH)] = self.outbox.http_response
        self.gateway.local_routes[("GET", OUTPUTS_PATH)] = self.outputs_response
        self.gateway.start()
        self.pollers = EventSourcePollers(
            self.template.event_sources,
            self.resolver,
            runtime,
            self.endpoint_url,
            self.schedule_seconds,
            self._log,
        )
        self.pollers.start()
        return self

    def stop(self) -> None:
        if self.pollers:
            self.pollers.stop()
        if self.gateway:
            self.gateway.stop()
        if self.outbox:
            self.outbox.stop()
        if self.simulator:
            self.simulator.stop()
        self.moto.stop()

    def outputs(self) -> dict[str, str]:
        assert self.resolver is not None, "start() first"
        return self.stack.outputs(self.resolver)

    def outputs_response(self) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps({"outputs": self.outputs()}).encode()
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


def main() -> None:
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    port = int(os.environ.get("PORT", "3000"))
    simulator_setting = os.environ.get("SIMULATOR_PORT", "4000").strip().lower()
    simulator_port = None if simulator_setting in ("", "off") else int(simulator_setting)
    system = LocalSystem(moto_port, port, load_config(), simulator_port=simulator_port)
    system.start()
    outputs = system.outputs()
    print(f"Social Care is running locally (moto at {system.endpoint_url}).", flush=True)
    for name, value in sorted(outputs.items()):
        if value.startswith("http"):
            print(f"  {name:<24} {value}", flush=True)
    if system.simulator is not None:
        print(f"  {'PlatformSimulator':<24} {system.simulator.url}  (socialcare simulate calls)", flush=True)
    print('Try: curl "' + system.api_url + '/webhooks/x?crc_token=abc"   Stop with Ctrl-C.', flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    print("Stopping.", file=sys.stderr, flush=True)
    system.stop()


if __name__ == "__main__":
    main()
