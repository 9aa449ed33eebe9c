"""Weekly schedules and time zones as people write them, parsed. Pure, and free of the domain models (which
validate with it), so the models and the shift rules do not import each other.

Schedules are written the way people say them ("Mon-Fri 09:00-17:00, Sat 10:00-14:00") and read as local
wall-clock time in the agent's IANA time zone."""

import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # by weekday()
MINUTES_PER_DAY = 24 * 60

_PART = re.compile(r"^(?P<first>[A-Za-z]+)(?:\s*-\s*(?P<last>[A-Za-z]+))?\s+(?P<windows>\d.*)$")
_DASH = re.compile(r"\s*-\s*")
_WINDOW = re.compile(r"^(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class WeeklyWindow:
    """One on-shift window that starts on `weekday` (0 = Monday) at `start_minute` after local midnight.
    `end_minute` may pass MINUTES_PER_DAY: the window then runs into the next day."""

    weekday: int
    start_minute: int
    end_minute: int


def parse_time_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or ValueError naming it."""
    key = name.strip()
    try:
        return ZoneInfo(key)
    # OSError: a folder of the zone database such as "Pacific" raises IsADirectoryError.
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"time zone {name!r} is not an IANA time zone name (e.g. Europe/Berlin)") from error


@lru_cache(maxsize=1024)
def parse_schedule(text: str) -> tuple[WeeklyWindow, ...]:
    """Parse "Mon-Fri 09:00-17:00, Sat 10:00-14:00 15:00-18:00" into windows. An empty string is no hours.

    Day ranges may wrap ("Fri-Mon"); "24:00" ends a day; a window ending before it starts crosses midnight.
    Raises ValueError saying which part is wrong and why."""
    windows: list[WeeklyWindow] = []
    if not text.strip():
        return ()
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            raise ValueError(f"schedule {text!r} has an empty part (two commas, or a trailing comma)")
        match = _PART.match(part)
        if match is None:
            raise ValueError(
                f"schedule part {part!r}: expected days then windows, like 'Mon-Fri 09:00-17:00'"
            )
        days = _days(match["first"], match["last"], part)
        for window_text in _DASH.sub("-", match["windows"]).split():  # "09:00 - 17:00" reads as one window
            start, end = _window(window_text, part)
            windows.extend(WeeklyWindow(day, start, end) for day in days)
    return tuple(windows)


def _days(first: str, last: str | None, part: str) -> list[int]:
    start = _day_index(first, part)
    if last is None:
        return [start]
    end = _day_index(last, part)
    return [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]  # wraps: Fri-Mon is 4 days


def _day_index(name: str, part: str) -> int:
    lowered = name.lower()
    for index, day in enumerate(DAY_NAMES):
        if lowered in (day[:3], day):
            return index
    raise ValueError(f"schedule part {part!r}: {name!r} is not a day (use Mon Tue Wed Thu Fri Sat Sun)")


def _window(text: str, part: str) -> tuple[int, int]:
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"schedule part {part!r}: window {text!r} is not HH:MM-HH:MM")
    start = _minute_of_day(match["start"], part, may_be_24=False)
    end = _minute_of_day(match["end"], part, may_be_24=True)
    if start == end:
        raise ValueError(f"schedule part {part!r}: window {text!r} starts and ends at the same time")
    if end < start:  # crosses midnight: ends on the next day
        end += MINUTES_PER_DAY
    return start, end


def _minute_of_day(text: str, part: str, *, may_be_24: bool) -> int:
    hours, minutes = (int(number) for number in text.split(":"))
    if may_be_24 and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        hint = " (24:00 may only end a window)" if hours == 24 else ""
        raise ValueError(f"schedule part {part!r}: {text!r} is not a time of day{hint}")
    return hours * 60 + minutes
