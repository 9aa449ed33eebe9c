"""Who is on shift at a given instant, from each agent's weekly schedule, overrides and time zone.

Schedules are written the way people say them ("Mon-Fri 09:00-17:00, Sat 10:00-14:00") and read as local
wall-clock time in the agent's IANA time zone, so a 09:00-17:00 shift stays 09:00-17:00 across daylight-saving
changes. Everything here is pure: callers pass the instant to check, so tests control the clock."""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socialcare.models import Agent, Shift, ShiftOverride

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


def on_weekly_schedule(windows: tuple[WeeklyWindow, ...], local: datetime) -> bool:
    """Whether local wall-clock time `local` falls in one of the windows (start included, end excluded)."""
    today = local.weekday()
    yesterday = (today - 1) % 7
    minute = local.hour * 60 + local.minute  # windows are whole minutes, so seconds never change the answer
    return any(
        (window.weekday == today and window.start_minute <= minute < window.end_minute)
        or (window.weekday == yesterday and minute + MINUTES_PER_DAY < window.end_minute)
        for window in windows
    )


def is_on_shift(agent: Agent, at: datetime) -> bool:
    """Whether the agent's shift covers the instant `at` (timezone-aware). Time off wins over everything,
    then extra windows, then the weekly schedule. Does not look at `agent.active`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"is_on_shift needs a timezone-aware datetime, got {at.isoformat()}")
    shift = agent.shift
    if any(o.kind == "off" and o.starts_at <= at < o.ends_at for o in shift.overrides):
        return False
    if any(o.kind == "add" and o.starts_at <= at < o.ends_at for o in shift.overrides):
        return True
    local = at.astimezone(ZoneInfo(shift.time_zone))
    return on_weekly_schedule(parse_schedule(shift.weekly), local)


def is_paused(agent: Agent, at: datetime) -> bool:
    """Whether the agent paused their texts (on /team/me) until after the instant `at`."""
    return agent.paused_until is not None and at < agent.paused_until


def can_be_texted(agent: Agent, at: datetime) -> bool:
    """Whether anything may notify the agent at `at`: active and not paused. Shifts are a separate question:
    leads are texted off shift when nobody on shift can take a mention, but never while paused."""
    return agent.active and not is_paused(agent, at)


def parse_instant(text: str, time_zone: str) -> datetime:
    """An ISO 8601 date-time from the command line; without an offset it is read in `time_zone`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date-time (e.g. 2026-03-08T09:00 or ...+01:00)"
        ) from None
    return moment.replace(tzinfo=parse_time_zone(time_zone)) if moment.tzinfo is None else moment


def with_extra_window(agent: Agent, starts_at: datetime, ends_at: datetime) -> Agent:
    """`shifts add`: the agent is on shift from starts_at to ends_at, whatever the weekly schedule says."""
    return _with_override(agent, ShiftOverride(kind="add", starts_at=starts_at, ends_at=ends_at))


def with_time_off(agent: Agent, starts_at: datetime, ends_at: datetime) -> Agent:
    """`shifts off`: the agent is off from starts_at to ends_at; this wins over schedule and extra windows."""
    return _with_override(agent, ShiftOverride(kind="off", starts_at=starts_at, ends_at=ends_at))


def without_past_overrides(agent: Agent, now: datetime) -> Agent:
    """Drop overrides that ended before `now`, so stored agents do not grow forever."""
    shift = agent.shift
    current = tuple(override for override in shift.overrides if override.ends_at > now)
    return agent.model_copy(
        update={"shift": Shift(time_zone=shift.time_zone, weekly=shift.weekly, overrides=current)}
    )


def _with_override(agent: Agent, override: ShiftOverride) -> Agent:
    shift = agent.shift
    # Built through the constructor, not model_copy(update=...), so naive times are localized and validated.
    updated = Shift(time_zone=shift.time_zone, weekly=shift.weekly, overrides=(*shift.overrides, override))
    return agent.model_copy(update={"shift": updated})
