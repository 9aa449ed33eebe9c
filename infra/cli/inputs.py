"""What the command line accepts, in one place: each reader turns a wrong value into one line saying what is
wrong and an example that works (argparse prints it as the command's error). Standard library only at
import: these run before any command imports the SDK (platform names come from the registry when checked)."""

import argparse
import difflib
from collections.abc import Iterable
from datetime import UTC, datetime

from infra.cli.connection import CliError


def instant(value: str) -> datetime:
    """`on-shift --at` and `mentions list --since`: ISO 8601; without an offset it is UTC, and a date alone
    is midnight UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 date or date-time: try 2026-12-01, 2026-12-01T09:30 (UTC) "
            "or 2026-12-01T09:30+01:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def time_zone(value: str) -> str:
    """An IANA zone name. `Pacific` is a folder of the zone database, not a zone: zoneinfo raises
    IsADirectoryError for it, which must not reach the user as a traceback."""
    from socialcare.people.schedules import parse_time_zone

    try:
        return parse_time_zone(value).key
    except ValueError:
        close = difflib.get_close_matches(value, _zone_names(), n=1)
        example = close[0] if close else "America/Los_Angeles"
        raise argparse.ArgumentTypeError(f"{value!r} is not an IANA time zone: try --tz {example}") from None


def _zone_names() -> Iterable[str]:
    import zoneinfo

    names = zoneinfo.available_timezones()
    return sorted(names)


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number above 0: try --limit 20")
    return number


def check_platforms(names: Iterable[str], known: Iterable[str], option: str) -> None:
    """Refuse a platform nobody configured (a CliError), suggesting the name it most likely means."""
    from socialcare.platforms.registry import familiar_names  # each adapter's; only when a command runs

    familiar = familiar_names()
    choices = sorted(set(known))
    for name in names:
        if name in choices:
            continue
        close = difflib.get_close_matches(name.lower(), [*choices, *familiar], n=1, cutoff=0.5)
        guess = familiar.get(close[0], close[0]) if close else choices[0] if choices else "?"
        raise CliError(
            f"unknown platform {name!r} (known: {', '.join(choices)}): did you mean {option} {guess}?"
        )
