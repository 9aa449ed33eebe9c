"""`socialcare local ...`: what only the local stack of `make run` can show. `local outbox` lists every SMS
and email its SNS sent (nothing leaves the machine), read from the gateway's local-only /_local/outbox
route."""

import argparse
import json
from typing import Any

from infra.cli.connection import CliError, local_api_url


def fetch_outbox() -> list[dict[str, Any]]:
    import requests

    from infra.local.outbox import OUTBOX_PATH

    url = local_api_url() + OUTBOX_PATH
    try:
        # Generous: a busy local stack (thousands of messages, a load test running) answers slowly.
        response = requests.get(url, timeout=60)
    except requests.ConnectionError as error:
        raise CliError(
            f"the local stack is not running at {local_api_url()}: start it with `make run`"
        ) from error
    if response.status_code != 200:
        raise CliError(f"{url} answered {response.status_code}: is this the local stack of `make run`?")
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def cmd_outbox(arguments: argparse.Namespace) -> None:
    if arguments.stack:
        raise CliError("the outbox exists only in the local stack; a deployed stack really sends its texts")
    messages = fetch_outbox()
    if arguments.channel:
        messages = [m for m in messages if m["channel"] == arguments.channel]
    if arguments.json:
        print(json.dumps(messages, ensure_ascii=False, indent=2))
        return
    if not messages:
        print("Nothing sent yet.")
        return
    for message in messages:
        heading = (
            f"{message['sent_at']}  {message['channel'].upper():<5} to {message['to'] or '(no subscriber)'}"
        )
        print(heading)
        if message.get("subject"):
            print(f"  Subject: {message['subject']}")
        if message.get("reply_to"):
            print(f"  Reply-To: {message['reply_to']}  (socialcare simulate email-reply --to ...)")
        for line in str(message["body"]).splitlines():
            print(f"  {line}")
        print()


def cmd_reset(arguments: argparse.Namespace) -> None:
    if arguments.stack:
        raise CliError("reset forgets the local stack's state; a deployed stack is not touched from here")
    import requests

    from infra.local.outbox import OUTBOX_PATH
    from infra.local.state import reset, state_dir

    try:
        requests.get(local_api_url() + OUTBOX_PATH, timeout=2)
    except requests.RequestException:
        pass  # not running: safe to forget
    else:
        raise CliError(f"the local stack is running at {local_api_url()}: stop it first (Ctrl-C), then reset")
    folder = state_dir()
    print(f"Forgot the state in {folder}." if reset(folder) else f"Nothing kept in {folder}: already empty.")


def register(commands: Any) -> None:
    local = commands.add_parser("local", help="what only the local stack can show").add_subparsers(
        dest="local_command", required=True
    )
    outbox = local.add_parser("outbox", help="every SMS and email the local stack sent, oldest first")
    outbox.add_argument("--json", action="store_true", help="print a JSON array")
    outbox.add_argument("--channel", choices=["sms", "email"], help="only texts or only emails")
    outbox.set_defaults(run=cmd_outbox)
    forget = local.add_parser(
        "reset",
        help="forget what `make run` kept (agents, mentions, replies, texts): the next start is empty",
    )
    forget.set_defaults(run=cmd_reset)
