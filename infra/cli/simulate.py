"""`socialcare simulate ...`: play a platform against the local stack of `make run`.

    socialcare simulate x-mention --from @alice --text "@brand my order is late"
    socialcare simulate facebook-comment --from "Alice Example" --text "Where is my parcel?"
    socialcare simulate instagram-comment --from alice --text "Love it, but it broke"
    socialcare simulate source --source reviews --from alice --text "Two stars: slow delivery"
    socialcare simulate calls [--json] [--clear]

Each event is signed the way the platform signs it, with the secrets of the configuration the local stack
verifies against (its secret in moto; SOCIALCARE_CONFIG or infra/dev-config.json when that cannot be read),
and the command prints what it sent and what the stack answered. `calls` shows what the platform simulator
(SIMULATOR_PORT, 4000) received: the replies the reply sender posted."""

import argparse
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra.cli.connection import CliError, stack_outputs

# requests, boto3 and the local stack (moto) are imported by the commands that use them, not by --help.
if TYPE_CHECKING:
    import requests

    from socialcare.platforms.local import SimulatedEvent

TIMEOUT_S = 30


# ---------------------------------------------------------------- where and with what
def api_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"


def simulator_url(arguments: argparse.Namespace) -> str:
    return arguments.simulator or f"http://127.0.0.1:{os.environ.get('SIMULATOR_PORT', '4000')}"


def platform_config(arguments: argparse.Namespace) -> dict[str, Any]:
    """The configuration the running stack verifies signatures with: its secret, else the file."""
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.cli.operations import read_config_document
    from infra.local.system import load_config

    try:
        # One secret per section of the configuration document (infra.cli.operations).
        return read_config_document(stack_outputs(arguments))
    except (CliError, BotoCoreError, ClientError, KeyError, ValueError):
        return load_config()


# ---------------------------------------------------------------- sending
def send(arguments: argparse.Namespace, event: "SimulatedEvent") -> None:
    if arguments.stack:
        raise CliError(
            "simulate talks to the local stack only: it would make real agents answer fake customers"
        )
    import requests
    from pydantic import ValidationError

    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.local import SimulationError

    try:
        config = PlatformConfig.model_validate(platform_config(arguments))
        request = event.build(vars(arguments), config)
    except (SimulationError, ValidationError) as error:
        raise CliError(str(error)) from error
    path, body, headers = request.path, request.body, request.headers
    url = api_url() + path
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
    except requests.ConnectionError as error:
        raise CliError(f"the local stack is not running at {api_url()}: start it with `make run`") from error
    if arguments.json:
        print(json.dumps(_exchange(url, body, headers, response), ensure_ascii=False, indent=2))
    else:
        print(f"POST {url}")
        for name, value in headers.items():
            print(f"  {name}: {value}")
        print(f"  {body.decode()}")
        print(f"-> {response.status_code} {response.text}")
    if response.status_code >= 400:
        raise CliError(f"the stack refused the event ({response.status_code})")


def _exchange(
    url: str, body: bytes, headers: Mapping[str, str], response: "requests.Response"
) -> dict[str, Any]:
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    return {
        "sent": {"method": "POST", "url": url, "headers": dict(headers), "body": json.loads(body)},
        "answer": {"status": response.status_code, "body": answer},
    }


def cmd_calls(arguments: argparse.Namespace) -> None:
    import requests

    base = simulator_url(arguments)
    try:
        if arguments.clear:
            requests.delete(f"{base}/_simulator/calls", timeout=TIMEOUT_S).raise_for_status()
            print("Forgot every recorded call.")
            return
        response = requests.get(f"{base}/_simulator/calls", timeout=TIMEOUT_S)
        response.raise_for_status()
    except requests.ConnectionError as error:
        raise CliError(
            f"the platform simulator is not running at {base}: start the local stack with `make run`"
        ) from error
    calls: list[dict[str, Any]] = response.json()
    if arguments.json:
        print(json.dumps(calls, ensure_ascii=False, indent=2))
        return
    if not calls:
        print("The simulator has received no calls yet.")
        return
    for call in calls:
        when = datetime.fromtimestamp(call["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        answered = f" -> {call['status']}" if call.get("status") else ""
        print(f"{when}  {call['method']} {call['path']}{answered}")
        print(f"  {json.dumps(_readable(call['body']), ensure_ascii=False)}")


def _readable(body: Any) -> Any:
    """A recorded body without the credentials a platform call carries."""
    if not isinstance(body, dict):
        return body
    return {k: ("[redacted]" if k in ("access_token", "appsecret_proof") else v) for k, v in body.items()}


# ---------------------------------------------------------------- arguments
def register(commands: Any) -> None:
    # Each platform adapter brings its events (socialcare.platforms.<name>.local); they are read when a
    # simulate command runs, so that building the parser (`--help`) imports none of the platforms' code.
    simulate = commands.add_parser(
        "simulate",
        help="send signed platform events to the local stack; see what the simulator received",
        description="EVENT is one of the platforms' events (`socialcare simulate events` lists them, "
        "`socialcare simulate EVENT --help` shows its options), or `calls`: what the simulator received.",
    )
    simulate.add_argument("event", metavar="EVENT", help="a platform's event, `events` or `calls`")
    simulate.add_argument("options", nargs=argparse.REMAINDER, help="the event's options")
    simulate.set_defaults(run=run_simulate)


def _calls_parser() -> argparse.ArgumentParser:
    calls = argparse.ArgumentParser(prog="socialcare simulate calls")
    calls.add_argument("--json", action="store_true", help="print the recorded calls as JSON")
    calls.add_argument("--clear", action="store_true", help="forget the recorded calls")
    calls.add_argument("--simulator", help="the simulator's URL (default: 127.0.0.1:$SIMULATOR_PORT)")
    return calls


def _event_parser(event: "SimulatedEvent") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"socialcare simulate {event.name}", description=event.help)
    parser.add_argument("--from", dest="sender", required=True, help=event.sender_help)
    parser.add_argument("--text", required=True)
    parser.add_argument("--id", help="the platform's id for it (default: a fresh one)")
    parser.add_argument("--reply-to", help="the id of what it answers")
    parser.add_argument("--json", action="store_true", help="print the exchange as JSON")
    for option in event.options:
        parser.add_argument(*option.flags, **option.settings)
    return parser


def run_simulate(arguments: argparse.Namespace) -> None:
    if arguments.event == "calls":
        cmd_calls(_calls_parser().parse_args(arguments.options, namespace=arguments))
        return
    from socialcare.platforms import registry

    events = {event.name: event for adapter in registry.webhooks() for event in adapter.local().events}
    if arguments.event == "events":
        for event in events.values():
            print(f"{event.name:<20} {event.help}")
        return
    chosen = events.get(arguments.event)
    if chosen is None:
        known = ", ".join([*events, "events", "calls"])
        raise CliError(f"no simulated event {arguments.event!r}: one of {known}")
    send(_event_parser(chosen).parse_args(arguments.options, namespace=arguments), chosen)
