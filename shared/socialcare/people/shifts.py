"""Who is on shift at a given instant, from each agent's weekly schedule, overrides and time zone.

Schedules are written the way people say them ("Mon-Fri 09:00-17:00, Sat 10:00-14:00") and read as local
wall-clock time in the agent's IANA time zone, so a 09:00-17:00 shift stays 09:00-17:00 across daylight-saving
changes. Everything here is pure: callers pass the instant to check, so tests control the clock."""

from datetime import datetime
from zoneinfo import ZoneInfo

from socialcare.models import Agent, Shift, ShiftOverride
from socialcare.people.schedules import MINUTES_PER_DAY, WeeklyWindow, parse_schedule, parse_time_zone


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
