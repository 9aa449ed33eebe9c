"""`socialcare`: the operators' command line. It talks to the running local stack by default, or to a
deployed stack with --stack NAME, through the same data access code the functions use."""

import argparse
import sys
from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from infra.cli import agents, doctor, local, mentions, operations, report, simulate
from infra.cli.connection import CliError

COMMAND_GROUPS = [mentions, agents, report, local, simulate, operations, doctor]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialcare", description=__doc__)
    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack of `make run`)")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    arguments = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = arguments.run
    try:
        run(arguments)
    except CliError as error:
        print(f"socialcare: {error}", file=sys.stderr)
        sys.exit(1)
    except (BotoCoreError, ClientError) as error:
        print(f"socialcare: AWS said: {error}", file=sys.stderr)
        sys.exit(1)
