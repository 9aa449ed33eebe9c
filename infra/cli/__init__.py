"""`socialcare`: the operators' command line. It talks to the running local stack by default, or to a
deployed stack with --stack NAME, through the same data access code the functions use."""

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from infra.cli.connection import CliError, not_running

# Each command group's module (infra.cli.<name>) and the commands it registers, with the line `--help` shows
# for each: only the module of the command being run is imported (a test keeps these lines equal to the
# modules' own).
COMMAND_GROUPS: dict[str, dict[str, str]] = {
    "mentions": {"mentions": "customers' mentions"},
    "agents": {
        "agents": "the people who get texts",
        "shifts": "when agents work",
        "on-shift": "who is on shift now (or --at)",
    },
    "audit": {"audit": "sign-ins, take-overs and paused texts, oldest first"},
    "report": {"report": "response times, SLA met and satisfaction (default: the last 7 days)"},
    "local": {"local": "what only the local stack can show"},
    "simulate": {
        "simulate": "send signed platform events to the local stack; see what the simulator received"
    },
    "operations": {"stack": "the stack itself", "credentials": "the platforms' credentials"},
    "doctor": {"doctor": "is this stack ready to take customers? (exit 1 when not)"},
}
# Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_VARIABLE = "SOCIALCARE_DEBUG"


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong input is one line (what is wrong, and where to see an example), not the whole
    usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given the arguments, only the group of the command they name is imported
    and registered whole; every other command is its name and help line. Without them, every group."""
    parser = Parser(prog="socialcare", description=__doc__)
    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack of `make run`)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    chosen = None if argv is None else chosen_command(argv)
    for module, group in COMMAND_GROUPS.items():
        if argv is None or chosen in group:
            importlib.import_module(f"infra.cli.{module}").register(commands)
        else:
            for name, help_line in group.items():
                commands.add_parser(name, help=help_line)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command the arguments name (their first word, after the options before it), if any."""
    words = iter(argv)
    for word in words:
        if word == "--stack":
            next(words, None)  # its value
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> None:
    # botocore imports the AWS CRT when it is installed (aws-sam-cli brings it into the dev environment), a
    # third of boto3's import time, for signing the CLI never uses; Lambda's runtime has no CRT either.
    sys.modules.setdefault("awscrt", None)  # type: ignore[arg-type]
    # botocore takes urllib3's pyOpenSSL shim when pyOpenSSL is installed (aws-sam-cli brings it too) only to
    # reach the standard library's SSLContext through it: it falls back to that very class without it, and
    # saves pyOpenSSL's and cryptography's import, a fifth of `mentions list`'s CPU time.
    sys.modules.setdefault("urllib3.contrib.pyopenssl", None)  # type: ignore[arg-type]
    # No pydantic plugin is used; looking for them reads every installed distribution's metadata at the first
    # model built (a sixth of `mentions list` in the development virtualenv), as the template says for Lambda.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    arguments = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    run: Callable[[argparse.Namespace], None] = arguments.run
    try:
        run(arguments)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        if argv is None:
            # The command is the process and ends here. Python collects garbage over every object still alive
            # as it exits, several times (a third of `mentions list`'s time); frozen, they are left alone.
            gc.freeze()
    except BrokenPipeError:
        ended_early()
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C: 128 + SIGINT, without a traceback
    except CliError as error:
        fail(str(error))
    except Exception as error:  # no traceback reaches a user; SOCIALCARE_DEBUG=1 shows it
        if os.environ.get(DEBUG_VARIABLE):
            raise
        fail(describe_unexpected(error))


def describe_unexpected(error: Exception) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    if isinstance(error, EndpointConnectionError):
        return str(not_running())
    if isinstance(error, (BotoCoreError, ClientError)):
        return f"AWS said: {error}"
    return f"unexpected {type(error).__name__}: {error} (rerun with {DEBUG_VARIABLE}=1 for the traceback)"


def fail(message: str) -> NoReturn:
    print(f"socialcare: {message}", file=sys.stderr)
    sys.exit(1)


def ended_early() -> NoReturn:
    """The reader closed the pipe (`| head`): stop quietly. stdout points at /dev/null so that Python's own
    flush at exit does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a command that stopped on a closed pipe
