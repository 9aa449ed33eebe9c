"""The command line never throws: every wrong input is one line naming what is wrong with an example that
works, an unexpected error is one line too, and closing the pipe early (`| head`) ends quietly."""

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from infra import cli
from infra.cli import inputs
from infra.cli.connection import CliError
from socialcare.people.schedules import parse_time_zone


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    try:
        cli.main(list(arguments))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_date_alone_is_midnight_utc_for_since_and_at_alike() -> None:
    parser = cli.build_parser()
    since = parser.parse_args(["mentions", "list", "--since", "2026-12-01"]).since
    at = parser.parse_args(["on-shift", "--at", "2026-12-01"]).at
    assert since == at == datetime(2026, 12, 1, tzinfo=UTC)
    offset = parser.parse_args(["mentions", "list", "--since", "2026-12-01T09:30+01:00"]).since
    assert offset == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["mentions", "list", "--since", "yesterday"], "'yesterday' is not an ISO 8601 date"),
        (["on-shift", "--at", "9am"], "'9am' is not an ISO 8601 date"),
        (["shifts", "set", "ann@example.com", "Mon-Fri 09:00-17:00", "--tz", "Pacific"], "'Pacific'"),
        (["shifts", "set", "ann@example.com", "Mon-Fri 09:00-17:00", "--tz", "Mars/Olympus"], "Mars"),
        (["mentions", "list", "--status", "done"], "unknown status 'done'"),
        (["mentions", "list", "--limit", "-3"], "'-3' is not a whole number"),
        (["mentions", "lst"], "invalid choice: 'lst'"),
    ],
)
def test_a_wrong_input_is_one_line_with_what_is_wrong(
    capsys: pytest.CaptureFixture[str], arguments: list[str], complaint: str
) -> None:
    code, out, err = run(capsys, *arguments)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert complaint in err
    assert "Traceback" not in err


def test_a_time_zone_folder_gets_a_zone_that_works_as_its_example(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "shifts", "set", "ann@example.com", "Mon 09:00-10:00", "--tz", "Pacific")
    example = err.split("try --tz ", 1)[1].split()[0]
    assert parse_time_zone(example).key == example


def test_the_domain_refuses_a_time_zone_folder_as_a_value_error() -> None:
    with pytest.raises(ValueError, match="'Pacific' is not an IANA time zone"):
        parse_time_zone("Pacific")


@pytest.mark.parametrize(
    ("typed", "meant"), [("twitter", "x"), ("Twitter", "x"), ("twiter", "x"), ("facebok", "facebook")]
)
def test_an_unknown_platform_suggests_the_one_meant(typed: str, meant: str) -> None:
    with pytest.raises(CliError, match=f"unknown platform '{typed}'.*did you mean --platforms {meant}\\?"):
        inputs.check_platforms([typed], ["x", "facebook", "instagram", "reviews"], "--platforms")
    inputs.check_platforms([meant], ["x", "facebook", "instagram", "reviews"], "--platforms")


def test_an_unknown_platform_in_a_listing_is_refused_before_reading(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.cli import mentions

    monkeypatch.setattr(mentions, "known_platforms", lambda _arguments: ["x", "facebook", "instagram"])

    def no_read(_arguments: Any) -> Any:
        raise AssertionError("nothing is read for a wrong platform")

    monkeypatch.setattr(mentions, "mention_store", no_read)
    code, _, err = run(capsys, "mentions", "list", "--platform", "twitter")
    assert (code, err) == (
        1,
        "socialcare: unknown platform 'twitter' (known: facebook, instagram, x): "
        "did you mean --platform x?\n",
    )


def test_an_unexpected_error_is_one_line_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.cli import mentions

    def broken(_arguments: Any) -> Any:
        raise KeyError("TableName")

    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)
    monkeypatch.setattr(mentions, "mention_table", broken)
    code, _, err = run(capsys, "mentions", "list")
    assert code == 1
    hint = f"(rerun with {cli.DEBUG_VARIABLE}=1 for the traceback)"
    assert err == f"socialcare: unexpected KeyError: 'TableName' {hint}\n"


def test_the_local_stack_not_running_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.local.system import free_port

    monkeypatch.setenv("PORT", str(free_port()))  # nothing listens there
    code, _, err = run(capsys, "mentions", "list")
    assert code == 1
    assert err.startswith("socialcare: the local stack is not running at http://127.0.0.1:")
    assert err.endswith("start it with `make run`\n")


# A command printing far more than a pipe holds; the reader takes one line and closes the pipe.
LONG_OUTPUT = """
from infra import cli
from infra.cli import local

def flood(_arguments):
    for number in range(200_000):
        print(f"line {number}")

local.cmd_outbox = flood  # register() picks the command up when main() builds the parser
cli.main(["local", "outbox"])
"""


def test_closing_the_pipe_early_ends_quietly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", LONG_OUTPUT], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"line 0\n"
    process.stdout.close()  # what `| head -1` does once it has its line
    error = process.stderr.read().decode()
    process.wait(timeout=60)
    assert error == ""
    assert process.returncode == 141
