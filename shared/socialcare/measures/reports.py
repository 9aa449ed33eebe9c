"""Reports over the daily roll-ups: response times, SLA met and satisfaction for a period, overall and per
group. Percentiles come from the roll-ups' histograms (within 4% of the exact value). No field is a
duration of anyone's work: the only time measured is how long the customer waited for our first reply."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from socialcare.measures.figures import Counters, quantile

GROUPINGS = ("platform", "agent", "priority", "day", "hour")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Rollups = Mapping[str, Mapping[str, Counters]]  # day -> group -> counters


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # included

    @classmethod
    def last_days(cls, days: int, today: date) -> "Period":
        return cls(today - timedelta(days=days - 1), today)

    def previous(self) -> "Period":
        length = (self.until - self.since).days + 1
        return Period(self.since - timedelta(days=length), self.since - timedelta(days=1))

    def days(self) -> list[str]:
        return [
            (self.since + timedelta(days=n)).isoformat() for n in range((self.until - self.since).days + 1)
        ]

    def utc_days(self, zone: tzinfo) -> list[str]:
        """The UTC days whose roll-ups hold this period of `zone`'s days (one more, unless UTC)."""
        start = datetime.combine(self.since, time(), zone).astimezone(UTC)
        end = datetime.combine(self.until + timedelta(days=1), time(), zone).astimezone(UTC)
        return Period(start.date(), (end - timedelta(microseconds=1)).date()).days()


def in_zone(rollups: Rollups, zone: tzinfo) -> dict[str, dict[str, Counters]]:
    """UTC days' roll-ups as days of `zone`. Every fact is counted under its UTC hour as well as under all,
    so each UTC hour moves whole to the local day and hour it starts in: "all", days and hours are exact in
    a zone whose offset is whole hours (daylight saving days included); in one whose offset is not (India's
    +05:30) half of each UTC hour belongs to the next local hour, and at midnight to the next day.
    Platforms, priorities and agents are not kept per hour: each UTC day's groups go whole to the local day
    its noon falls on."""
    local: dict[str, dict[str, Counters]] = {}
    for day, groups in rollups.items():
        midnight = datetime.fromisoformat(day).replace(tzinfo=UTC)
        for name, counters in groups.items():
            kind, _, value = name.partition("=")
            if kind == "hour":
                moment = (midnight + timedelta(hours=int(value))).astimezone(zone)
                into = local.setdefault(moment.date().isoformat(), {})
                for group in ("all", f"hour={moment.hour:02d}"):
                    into.setdefault(group, Counters()).add(counters)
            elif kind != "all":
                noon = (midnight + timedelta(hours=12)).astimezone(zone)
                into = local.setdefault(noon.date().isoformat(), {})
                into.setdefault(name, Counters()).add(counters)
    return local


def figures(counters: Counters, *, mentions: int | None = None) -> dict[str, Any]:
    """The report's fields for one set of counters (the issue's JSON shape)."""
    received = counters.mentions if mentions is None else mentions
    decided = counters.met + counters.missed
    responses = counters.responses
    ratings = {str(r): counters.ratings.get(r, 0) for r in range(1, 6)}
    rated = sum(ratings.values())
    return {
        "mentions": received,
        "answered": counters.answered,
        "unanswered": max(0, received - counters.answered),
        "first_response_seconds": {
            "median": _rounded(quantile(counters.histogram, 0.5)),
            "p90": _rounded(quantile(counters.histogram, 0.9)),
            "count": sum(counters.histogram.values()),
        },
        "sla": {
            "met": counters.met,
            "missed": counters.missed,
            "share": _share(counters.met, decided),
        },
        "csat": {
            "sent": counters.sent,
            "responses": responses,
            "response_rate": _share(responses, counters.sent),
            "score_share": _share(ratings["4"] + ratings["5"], rated),
            "average": round(sum(r * n for r, n in counters.ratings.items()) / rated, 2) if rated else None,
            "ratings": ratings,
        },
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


def total(rollups: Rollups, period: Period, group: str = "all") -> Counters:
    counters = Counters()
    for day in period.days():
        found = rollups.get(day, {}).get(group)
        if found is not None:
            counters.add(found)
    return counters


def grouped(rollups: Rollups, period: Period, by: str) -> dict[str, Counters]:
    """Counters per group key, keys sorted (days and hours in time order)."""
    groups: dict[str, Counters] = {}
    for day in period.days():
        for name, counters in rollups.get(day, {}).items():
            if by == "day":
                key = day if name == "all" else None
            else:
                kind, _, value = name.partition("=")
                key = value if kind == by else None
            if key is not None:
                groups.setdefault(key, Counters()).add(counters)
    return dict(sorted(groups.items()))


def build_report(rollups: Rollups, period: Period, by: str | None = None) -> dict[str, Any]:
    """The report of `period`: the issue's fields, and with `by` a `groups` list of the same fields."""
    report: dict[str, Any] = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    report.update(figures(total(rollups, period)))
    if by is not None:
        if by not in GROUPINGS:
            raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")
        report["groups"] = [
            # An agent receives no mentions: what they answered is what they had.
            {"key": key, **figures(counters, mentions=counters.answered if by == "agent" else None)}
            for key, counters in grouped(rollups, period, by).items()
        ]
    return report


def hour_of_week(rollups: Rollups, period: Period) -> dict[tuple[int, int], tuple[int, int]]:
    """(weekday 0=Mon, hour) -> (mentions received, answered): when to staff the shifts. The hours are the
    roll-ups' (UTC, or a zone's after in_zone)."""
    cells: dict[tuple[int, int], tuple[int, int]] = {}
    for day in period.days():
        weekday = datetime.fromisoformat(day).weekday()
        for name, counters in rollups.get(day, {}).items():
            kind, _, hour = name.partition("=")
            if kind == "hour":
                received, answered = cells.get((weekday, int(hour)), (0, 0))
                cells[(weekday, int(hour))] = (received + counters.mentions, answered + counters.answered)
    return cells


def weekly(rollups: Rollups, period: Period) -> list[tuple[str, Counters]]:
    """Counters per ISO week (labelled by its Monday) within the period."""
    weeks: dict[str, Counters] = {}
    for day in period.days():
        start = datetime.fromisoformat(day).date()
        monday = (start - timedelta(days=start.weekday())).isoformat()
        found = rollups.get(day, {}).get("all")
        counters = weeks.setdefault(monday, Counters())
        if found is not None:
            counters.add(found)
    return sorted(weeks.items())
