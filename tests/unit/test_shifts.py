"""Shift schedules: parsing, time zones, daylight-saving changes, overnight windows and overrides."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from socialcare.models import Agent, Shift, ShiftOverride
from socialcare.people.schedules import WeeklyWindow, parse_schedule, parse_time_zone
from socialcare.people.shifts import (
    is_on_shift,
    parse_instant,
    with_extra_window,
    with_time_off,
    without_past_overrides,
)

LOS_ANGELES = "America/Los_Angeles"
BERLIN = "Europe/Berlin"


def agent(weekly: str = "", time_zone: str = "UTC", **fields: object) -> Agent:
    return Agent.model_validate(
        {
            "name": "Ana",
            "email": "ana@example.com",
            "phone": "+14155550123",
            "shift": {"time_zone": time_zone, "weekly": weekly},
            **fields,
        }
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------- parsing
def test_parses_day_ranges_single_days_and_several_windows() -> None:
    windows = parse_schedule("Mon-Wed 09:00-17:00, Sat 10:00-12:00 13:00-14:30")
    assert windows == (
        WeeklyWindow(0, 540, 1020),
        WeeklyWindow(1, 540, 1020),
        WeeklyWindow(2, 540, 1020),
        WeeklyWindow(5, 600, 720),
        WeeklyWindow(5, 780, 870),
    )


def test_day_ranges_wrap_around_the_week() -> None:
    assert [window.weekday for window in parse_schedule("Fri-Mon 10:00-11:00")] == [4, 5, 6, 0]


def test_day_names_are_case_insensitive_and_may_be_spelled_out() -> None:
    assert parse_schedule("monday 09:00-10:00") == parse_schedule("MON 09:00-10:00")


def test_24_00_ends_the_day_and_overnight_windows_run_into_the_next_day() -> None:
    assert parse_schedule("Sun 00:00-24:00") == (WeeklyWindow(6, 0, 1440),)
    assert parse_schedule("Fri 22:00-02:00") == (WeeklyWindow(4, 1320, 1560),)


def test_an_empty_schedule_has_no_hours() -> None:
    assert parse_schedule("  ") == ()
    assert not is_on_shift(agent(""), utc(2026, 1, 5, 12))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("Mon", "schedule part 'Mon': expected days then windows"),
        ("09:00-17:00", "schedule part '09:00-17:00': expected days then windows"),
        ("Mon 9-17", "window '9-17' is not HH:MM-HH:MM"),
        ("Funday 09:00-17:00", "'Funday' is not a day"),
        ("Mon-Xyz 09:00-17:00", "'Xyz' is not a day"),
        ("Mon 09:60-10:00", "'09:60' is not a time of day"),
        ("Mon 25:00-26:00", "'25:00' is not a time of day"),
        ("Mon 24:00-02:00", "24:00 may only end a window"),
        ("Mon 10:00-10:00", "starts and ends at the same time"),
        ("Mon 09:00-17:00,", "has an empty part"),
        ("Mon 09:00-17:00, Tue 09:00-1700", "schedule part 'Tue 09:00-1700'"),
    ],
)
def test_invalid_schedules_say_which_part_is_wrong(schedule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_schedule(schedule)


def test_an_invalid_schedule_is_refused_when_the_agent_is_built() -> None:
    with pytest.raises(ValidationError, match="'Xyz' is not a day"):
        agent("Xyz 09:00-17:00")


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../etc/passwd", "/etc/localtime", "PST8PDT-ish"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not an IANA time zone name"):
        parse_time_zone(name)
    with pytest.raises(ValidationError, match="is not an IANA time zone name"):
        agent("Mon 09:00-17:00", time_zone=name)


# ---------------------------------------------------------------- is_on_shift
def test_window_start_is_included_and_end_excluded() -> None:
    ana = agent("Mon-Fri 09:00-17:00")  # 2026-01-05 is a Monday
    assert not is_on_shift(ana, utc(2026, 1, 5, 8, 59, 59))
    assert is_on_shift(ana, utc(2026, 1, 5, 9))
    assert is_on_shift(ana, utc(2026, 1, 5, 16, 59, 59))
    assert not is_on_shift(ana, utc(2026, 1, 5, 17))
    assert not is_on_shift(ana, utc(2026, 1, 10, 12))  # Saturday


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_on_shift(agent("Mon-Sun 00:00-24:00"), datetime(2026, 1, 5, 12))


def test_always_on() -> None:
    ana = agent("Mon-Sun 00:00-24:00", time_zone=LOS_ANGELES)
    start = utc(2026, 3, 1)
    hours = [
        start + timedelta(minutes=37 * step) for step in range(24 * 60 * 30 // 37)
    ]  # a month, DST included
    assert all(is_on_shift(ana, moment) for moment in hours)


def test_overnight_window_crosses_midnight_and_the_week_end() -> None:
    ana = agent("Sun 22:00-02:00")  # 2026-01-11 is a Sunday
    assert not is_on_shift(ana, utc(2026, 1, 11, 21, 59))
    assert is_on_shift(ana, utc(2026, 1, 11, 23, 30))
    assert is_on_shift(ana, utc(2026, 1, 12, 1, 59))  # Monday morning, from Sunday's window
    assert not is_on_shift(ana, utc(2026, 1, 12, 2))
    assert not is_on_shift(ana, utc(2026, 1, 12, 23))  # Monday night has no window of its own


def test_a_window_ending_at_24_00_covers_the_last_minute_only() -> None:
    ana = agent("Tue 18:00-24:00")  # 2026-01-06 is a Tuesday
    assert is_on_shift(ana, utc(2026, 1, 6, 23, 59, 59))
    assert not is_on_shift(ana, utc(2026, 1, 7, 0, 0))


def test_los_angeles_shift_in_utc_winter_and_summer() -> None:
    ana = agent("Mon-Fri 09:00-17:00", time_zone=LOS_ANGELES)
    # Winter (PST, UTC-8): 17:00-01:00 UTC. 2026-01-14 is a Wednesday.
    assert not is_on_shift(ana, utc(2026, 1, 14, 16, 59))
    assert is_on_shift(ana, utc(2026, 1, 14, 17, 0))
    assert is_on_shift(ana, utc(2026, 1, 15, 0, 59))
    assert not is_on_shift(ana, utc(2026, 1, 15, 1, 0))
    # Summer (PDT, UTC-7): 16:00-00:00 UTC. 2026-07-15 is a Wednesday.
    assert not is_on_shift(ana, utc(2026, 7, 15, 15, 59))
    assert is_on_shift(ana, utc(2026, 7, 15, 16, 0))
    assert is_on_shift(ana, utc(2026, 7, 15, 23, 59))
    assert not is_on_shift(ana, utc(2026, 7, 16, 0, 0))


def test_los_angeles_spring_forward_day_keeps_the_wall_clock_window() -> None:
    ana = agent("Sat-Sun 09:00-17:00", time_zone=LOS_ANGELES)
    # Saturday 2026-03-07 is still PST: 17:00 UTC.
    assert not is_on_shift(ana, utc(2026, 3, 7, 16, 59))
    assert is_on_shift(ana, utc(2026, 3, 7, 17, 0))
    # Sunday 2026-03-08, clocks jumped at 02:00: 09:00 PDT is 16:00 UTC, 17:00 PDT is 00:00 UTC.
    assert not is_on_shift(ana, utc(2026, 3, 8, 15, 59))
    assert is_on_shift(ana, utc(2026, 3, 8, 16, 0))
    assert is_on_shift(ana, utc(2026, 3, 8, 23, 59))
    assert not is_on_shift(ana, utc(2026, 3, 9, 0, 0))


def test_los_angeles_fall_back_day_keeps_the_wall_clock_window() -> None:
    ana = agent("Sat-Sun 09:00-17:00", time_zone=LOS_ANGELES)
    # Saturday 2026-10-31 is PDT: 16:00 UTC; Sunday 2026-11-01 after 02:00 is PST: 17:00 UTC.
    assert is_on_shift(ana, utc(2026, 10, 31, 16, 0))
    assert not is_on_shift(ana, utc(2026, 11, 1, 16, 0))
    assert is_on_shift(ana, utc(2026, 11, 1, 17, 0))
    assert is_on_shift(ana, utc(2026, 11, 2, 0, 59))
    assert not is_on_shift(ana, utc(2026, 11, 2, 1, 0))


def test_the_repeated_hour_of_fall_back_is_on_shift_both_times() -> None:
    ana = agent("Sun 01:00-02:00", time_zone=LOS_ANGELES)
    # 01:00-02:00 happens twice on 2026-11-01: 08:00-09:00 UTC (PDT) and 09:00-10:00 UTC (PST).
    assert not is_on_shift(ana, utc(2026, 11, 1, 7, 59))
    assert is_on_shift(ana, utc(2026, 11, 1, 8, 30))
    assert is_on_shift(ana, utc(2026, 11, 1, 9, 30))
    assert not is_on_shift(ana, utc(2026, 11, 1, 10, 0))


def test_an_overnight_window_across_spring_forward_ends_at_the_local_time() -> None:
    ana = agent("Sat 22:00-04:00", time_zone=LOS_ANGELES)
    # Starts Saturday 22:00 PST (06:00 UTC), ends Sunday 04:00 PDT (11:00 UTC): five real hours.
    assert not is_on_shift(ana, utc(2026, 3, 8, 5, 59))
    assert is_on_shift(ana, utc(2026, 3, 8, 6, 0))
    assert is_on_shift(ana, utc(2026, 3, 8, 10, 59))
    assert not is_on_shift(ana, utc(2026, 3, 8, 11, 0))


def test_berlin_shift_across_its_spring_change() -> None:
    ben = agent("Sun 09:00-17:00", time_zone=BERLIN)
    # 2026-03-22 is CET (UTC+1): 08:00-16:00 UTC. 2026-03-29 is CEST (UTC+2): 07:00-15:00 UTC.
    assert is_on_shift(ben, utc(2026, 3, 22, 8, 0))
    assert not is_on_shift(ben, utc(2026, 3, 22, 7, 59))
    assert is_on_shift(ben, utc(2026, 3, 29, 7, 0))
    assert not is_on_shift(ben, utc(2026, 3, 29, 6, 59))
    assert not is_on_shift(ben, utc(2026, 3, 29, 15, 0))


def test_the_instant_may_be_given_in_any_offset() -> None:
    ana = agent("Mon-Fri 09:00-17:00", time_zone=LOS_ANGELES)
    tokyo_wednesday_morning = datetime(2026, 1, 15, 2, 30, tzinfo=ZoneInfo("Asia/Tokyo"))  # 09:30 PST Wed
    assert is_on_shift(ana, tokyo_wednesday_morning)


# ---------------------------------------------------------------- overrides
def test_shifts_add_puts_the_agent_on_shift_outside_the_schedule() -> None:
    ana = agent("Mon-Fri 09:00-17:00", time_zone=BERLIN)
    saturday_noon = utc(2026, 1, 10, 11)
    assert not is_on_shift(ana, saturday_noon)
    covering = with_extra_window(ana, utc(2026, 1, 10, 8), utc(2026, 1, 10, 14))
    assert is_on_shift(covering, saturday_noon)
    assert not is_on_shift(covering, utc(2026, 1, 10, 14))
    assert ana.shift.overrides == ()  # the original agent is unchanged


def test_shifts_off_wins_over_the_schedule_and_over_extra_windows() -> None:
    ana = agent("Mon-Fri 09:00-17:00")
    monday_noon = utc(2026, 1, 5, 12)
    extra = with_extra_window(ana, utc(2026, 1, 5, 11), utc(2026, 1, 5, 13))
    off = with_time_off(extra, utc(2026, 1, 5, 0), utc(2026, 1, 6, 0))
    assert is_on_shift(extra, monday_noon)
    assert not is_on_shift(off, monday_noon)
    assert is_on_shift(off, utc(2026, 1, 6, 12))  # time off over, the schedule applies again


def test_naive_override_times_are_read_in_the_agents_time_zone() -> None:
    ana = agent("", time_zone=LOS_ANGELES)
    covering = with_extra_window(ana, datetime(2026, 7, 4, 10), datetime(2026, 7, 4, 12))
    override = covering.shift.overrides[0]
    assert override.starts_at.utcoffset() == timedelta(hours=-7)
    assert is_on_shift(covering, utc(2026, 7, 4, 17, 0))  # 10:00 PDT
    assert not is_on_shift(covering, utc(2026, 7, 4, 10, 0))  # 10:00 UTC would be the naive misreading


def test_override_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="must be after starts_at"):
        with_time_off(agent(), datetime(2026, 7, 4, 12), datetime(2026, 7, 4, 10))
    with pytest.raises(ValidationError, match="must be after starts_at"):
        ShiftOverride(kind="add", starts_at=utc(2026, 7, 4, 12), ends_at=utc(2026, 7, 4, 12))


def test_parse_instant_reads_offsets_and_localizes_naive_times() -> None:
    assert parse_instant("2026-03-08T09:00:00+01:00", LOS_ANGELES) == utc(2026, 3, 8, 8)
    assert parse_instant("2026-03-08T09:00:00Z", LOS_ANGELES) == utc(2026, 3, 8, 9)
    assert parse_instant("2026-03-08T09:00", LOS_ANGELES) == utc(2026, 3, 8, 16)  # PDT on the change day
    with pytest.raises(ValueError, match="is not an ISO 8601 date-time"):
        parse_instant("next tuesday", LOS_ANGELES)


def test_past_overrides_are_dropped() -> None:
    ana = with_time_off(agent("Mon-Fri 09:00-17:00"), utc(2026, 1, 1), utc(2026, 1, 2))
    ana = with_extra_window(ana, utc(2026, 1, 10), utc(2026, 1, 11))
    pruned = without_past_overrides(ana, utc(2026, 1, 5))
    assert [override.kind for override in pruned.shift.overrides] == ["add"]
    assert pruned.shift.weekly == "Mon-Fri 09:00-17:00"


def test_shift_round_trips_through_json() -> None:
    ana = with_time_off(agent("Mon-Fri 09:00-17:00", time_zone=BERLIN), utc(2026, 1, 5), utc(2026, 1, 6))
    again = Agent.model_validate_json(ana.model_dump_json())
    assert again.shift == Shift(time_zone=BERLIN, weekly="Mon-Fri 09:00-17:00", overrides=ana.shift.overrides)
    assert not is_on_shift(again, utc(2026, 1, 5, 12))


# ---------------------------------------------------------------- the agent model
def test_agent_defaults_and_normalization() -> None:
    ana = agent(
        email="  Ana.Lopez+care@Example.COM ", platforms=["X", "facebook", "x"], languages=["ES", "en"]
    )
    assert ana.email == "ana.lopez+care@example.com"
    assert ana.platforms == ["x", "facebook"]
    assert ana.languages == ["es", "en"]
    plain = Agent(name="Bo", email="bo@example.com", phone="+4915112345678")
    assert (plain.languages, plain.platforms, plain.lead, plain.active) == (["en"], [], False, True)
    assert not is_on_shift(plain, utc(2026, 1, 5, 12))  # no schedule yet: never on shift


@pytest.mark.parametrize(
    "email",
    ["ana", "ana@", "@example.com", "ana@example", "ana@@example.com", "a b@example.com", "ana.@x.com"],
)
def test_invalid_emails_are_refused_clearly(email: str) -> None:
    with pytest.raises(ValidationError, match=r"email .* is not a valid address"):
        agent(email=email)


@pytest.mark.parametrize(
    "phone", ["4155550123", "+1 415 555 0123", "+0123456789", "+123456", "+1234567890123456"]
)
def test_invalid_phones_are_refused_clearly(phone: str) -> None:
    with pytest.raises(ValidationError, match=r"phone .* is not in E\.164 form"):
        agent(phone=phone)


def test_shortest_and_longest_e164_numbers_are_accepted() -> None:
    assert agent(phone="+1234567").phone == "+1234567"
    assert agent(phone="+123456789012345").phone == "+123456789012345"


def test_an_agent_must_speak_some_language() -> None:
    with pytest.raises(ValidationError, match="at least one language"):
        agent(languages=[])
