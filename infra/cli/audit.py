"""`socialcare audit`: who signed in to the team pages, took a mention over or paused texts, and when."""

import argparse
import json
from typing import Any

from infra.cli.connection import stack_outputs
from infra.cli.inputs import instant


def cmd_audit(arguments: argparse.Namespace) -> None:
    # The SDK and the data layer are imported by the command, not by `socialcare --help`.
    from socialcare.data import table
    from socialcare.data.team import TeamStore

    entries = TeamStore(table(stack_outputs(arguments)["TableName"])).audit(since=arguments.since)
    if arguments.json:
        rows = [
            {
                "at": entry.at.isoformat(),
                "action": entry.action,
                "actor": entry.actor,
                "subject": entry.subject,
                "detail": entry.detail,
            }
            for entry in entries
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not entries:
        print("Nothing recorded" + (f" since {arguments.since.isoformat()}." if arguments.since else "."))
        return
    for entry in entries:
        extra = " ".join(part for part in (entry.subject, entry.detail) if part)
        print(f"{entry.at:%Y-%m-%d %H:%M:%S} UTC  {entry.action:<10} {entry.actor:<32} {extra}".rstrip())


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="sign-ins, take-overs and paused texts, oldest first")
    audit.add_argument("--since", type=instant, help="ISO 8601 date or date-time; no offset means UTC")
    audit.add_argument("--json", action="store_true", help="print a JSON array")
    audit.set_defaults(run=cmd_audit)
