"""The measures' arithmetic without AWS: facts from stream images, roll-up attributes, percentiles from the
histograms within 5% of the exact values, and the report's fields."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from socialcare.data.rollups import add_in_memory, counters_of_item
from socialcare.measures.figures import (
    answered_fact,
    bucket_estimate,
    bucket_of,
    exact_quantile,
    facts_of_record,
    quantile,
    rated_fact,
)
from socialcare.measures.reports import Period, build_report, hour_of_week, in_zone

TARGETS = {"urgent": timedelta(minutes=30), "normal": timedelta(minutes=60), "low": timedelta(minutes=240)}


def mention_image(number: int, received: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "entity": "mention",
        "platform": fields.pop("platform", "x"),
        "external_id": str(number),
        "status": "new",
        "gsi1pk": "MENTIONS",
        "kind": "post",
        "author": {"id": f"u{number}"},
        "text": "my parcel never came",
        "thread_key": str(number),
        "created_at": received.isoformat(),
        "received_at": received.isoformat(),
        **fields,
    }


def answered(image: dict[str, Any], seconds: int, agent: str, priority: str = "normal") -> dict[str, Any]:
    return {
        **image,
        "status": "answered",
        "priority": priority,
        "answered_at": "2026-11-02T10:00:00Z",
        "answered_by": agent,
        "first_response_seconds": seconds,
    }


def roll_up(images: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """What the stream function would store, computed in memory: day -> roll-up item attributes."""
    items: dict[str, dict[str, Any]] = defaultdict(dict)
    for event_name, old, new in images:
        for fact in facts_of_record(event_name, old, new, TARGETS):
            add_in_memory(items[fact.day], fact)
    return {day: counters_of_item(item) for day, item in items.items()}


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_from_the_histogram_are_within_5_percent_of_the_exact_ones(seed: int) -> None:
    rng = random.Random(seed)
    # Social media waits: mostly minutes, a long tail of hours and days, a few answered within seconds.
    values = [int(rng.lognormvariate(7.5, 1.6)) for _ in range(20_000)] + [
        rng.randrange(0, 30) for _ in range(300)
    ]
    histogram: dict[int, int] = defaultdict(int)
    for value in values:
        histogram[bucket_of(value)] += 1
    for q in (0.5, 0.9, 0.99):
        exact = exact_quantile(values, q)
        estimate = quantile(histogram, q)
        assert exact is not None and estimate is not None
        assert abs(estimate - exact) <= 0.05 * exact, (q, exact, estimate)


def test_every_value_is_within_4_percent_of_its_bucket_estimate() -> None:
    for seconds in [*range(0, 2000), *range(2000, 3_000_000, 997)]:
        estimate = bucket_estimate(bucket_of(seconds))
        assert abs(estimate - seconds) <= 0.04 * max(seconds, 1), seconds


def test_report_percentiles_from_daily_rollups_match_the_exact_ones_over_a_month() -> None:
    rng = random.Random(7)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    records: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    waits = []
    for number in range(3000):
        received = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        image = mention_image(number, received)
        records.append(("INSERT", {}, image))
        if rng.random() < 0.9:
            seconds = int(rng.lognormvariate(7.0, 1.2))
            waits.append(seconds)
            records.append(("MODIFY", image, answered(image, seconds, "ann@example.com")))
    report = build_report(roll_up(records), Period(date(2026, 10, 1), date(2026, 10, 30)))
    assert report["mentions"] == 3000
    assert report["answered"] == len(waits)
    assert report["unanswered"] == 3000 - len(waits)
    for field, q in (("median", 0.5), ("p90", 0.9)):
        exact = exact_quantile(waits, q)
        assert exact is not None
        assert abs(report["first_response_seconds"][field] - exact) <= 0.05 * exact
    met = sum(1 for s in waits if s <= 3600)
    assert report["sla"] == {"met": met, "missed": len(waits) - met, "share": round(met / len(waits), 4)}


def test_a_mention_counts_on_the_day_it_came_in_under_its_platform_priority_hour_and_agent() -> None:
    image = mention_image(1, datetime(2026, 11, 2, 23, 50, tzinfo=UTC), platform="facebook")
    fact = answered_fact(image, answered(image, 45 * 60, "Ann@Example.com", "urgent"), TARGETS)
    assert fact is not None
    assert fact.day == "2026-11-02"
    assert set(fact.groups) == {
        "all",
        "platform=facebook",
        "priority=urgent",
        "hour=23",
        "agent=ann@example.com",
    }
    assert fact.counts["missed"] == 1 and "met" not in fact.counts  # 45 min > the urgent 30
    assert fact.key == "answered#facebook-1"


def test_our_own_posts_and_later_changes_of_an_answered_mention_count_nothing() -> None:
    image = mention_image(2, datetime(2026, 11, 2, tzinfo=UTC))
    ours = {**image, "is_ours": True, "status": "ours", "gsi1pk": "OURS"}
    assert facts_of_record("INSERT", {}, ours, TARGETS) == []
    done = answered(image, 60, "ann@example.com")
    assert facts_of_record("MODIFY", done, {**done, "status": "deleted"}, TARGETS) == []


def test_a_changed_rating_moves_one_count_and_adds_no_response() -> None:
    survey = {
        "entity": "survey",
        "survey_id": "s1",
        "platform": "x",
        "priority": "normal",
        "agent": "ann@example.com",
        "received_at": "2026-11-02T10:00:00Z",
        "state": "sent",
    }
    first = rated_fact({**survey, "rating_version": 0}, {**survey, "rating": 2, "rating_version": 1})
    again = rated_fact(
        {**survey, "rating": 2, "rating_version": 1}, {**survey, "rating": 5, "rating_version": 2}
    )
    comment_only = rated_fact(
        {**survey, "rating": 5, "rating_version": 2},
        {**survey, "rating": 5, "rating_version": 2, "comment": "ok"},
    )
    assert first is not None and first.counts == {"r2": 1, "responses": 1}
    assert again is not None and again.counts == {"r5": 1, "r2": -1}
    assert comment_only is None
    assert first.key != again.key


@pytest.mark.parametrize(
    ("retry_after_s", "wait"),
    [
        (None, timedelta(minutes=5)),  # the platform named no wait
        (1800, timedelta(minutes=30)),  # its own wait
        (2, timedelta(minutes=1)),  # at least one sweep
        (3 * 86400, timedelta(hours=24)),  # at most a day: a later question is no longer about our answer
    ],
)
def test_a_throttled_survey_waits_what_the_platform_asked_bounded(
    retry_after_s: float | None, wait: timedelta
) -> None:
    from socialcare.measures.survey_sending import retry_wait

    assert retry_wait(retry_after_s) == wait


def test_a_viral_days_received_item_stays_under_1_kb() -> None:
    """20,000 mentions in a day on seven platforms: what each of them writes (its day's received item) stays
    under 1 KB, one write unit; the histograms grow only the answers' item."""
    from bench.report_reads import item_kb
    from socialcare.data.rollups import item_key

    platforms = ("x", "facebook", "instagram", "reviews", "threads", "bluesky", "google_reviews")
    items: dict[str, dict[str, Any]] = defaultdict(dict)
    for number in range(20_000):
        image = {
            "entity": "mention",
            "platform": platforms[number % len(platforms)],
            "external_id": str(number),
            "priority": ("urgent", "normal", "low")[number % 3],
            "received_at": f"2026-11-02T{number % 24:02d}:{number % 60:02d}:00+00:00",
        }
        for fact in facts_of_record("INSERT", {}, image, {}):
            add_in_memory(items[item_key(fact)["pk"]], fact)
    assert list(items) == ["RECEIVED#2026-11-02"]
    assert items["RECEIVED#2026-11-02"]["all|mentions"] == 20_000
    assert item_kb(items["RECEIVED#2026-11-02"]) <= 1


def hourly_mentions(
    first: datetime, hours: int, platform: str = "x"
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """One mention received early in each of `hours` UTC hours from `first`, each answered in 10 min."""
    records: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for number in range(hours):
        image = mention_image(number, first + timedelta(hours=number, minutes=5), platform=platform)
        records += [("INSERT", {}, image), ("MODIFY", image, answered(image, 600, "ann@example.com"))]
    return records


def test_the_days_of_a_zone_are_read_from_the_utc_days_under_them() -> None:
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    day = Period(date(2026, 11, 3), date(2026, 11, 3))
    assert day.utc_days(ZoneInfo("UTC")) == ["2026-11-03"]
    assert day.utc_days(berlin) == ["2026-11-02", "2026-11-03"]  # from 23:00 UTC the day before
    assert day.utc_days(new_york) == ["2026-11-03", "2026-11-04"]  # until 05:00 UTC the day after


def test_a_zones_days_and_hours_are_exact_even_on_a_daylight_saving_day() -> None:
    """Berlin's 25 October 2026 has 25 hours (clocks go back): from 22:00 UTC on the 24th to 23:00 UTC on
    the 25th. One mention an hour from 20:00 UTC on the 24th for 30 hours."""
    berlin = ZoneInfo("Europe/Berlin")
    rollups = roll_up(hourly_mentions(datetime(2026, 10, 24, 20, tzinfo=UTC), 30))
    local = in_zone(rollups, berlin)
    autumn = Period(date(2026, 10, 25), date(2026, 10, 25))
    report = build_report(local, autumn, "hour")
    assert (report["mentions"], report["answered"], report["sla"]["met"]) == (25, 25, 25)
    hours = {group["key"]: group["mentions"] for group in report["groups"]}
    assert hours["02"] == 2 and sum(hours.values()) == 25  # 02:00 to 03:00 came twice
    assert build_report(local, Period(date(2026, 10, 24), date(2026, 10, 24)))["mentions"] == 2  # 22, 23 h
    assert build_report(local, Period(date(2026, 10, 26), date(2026, 10, 26)))["mentions"] == 3
    # When to staff: Sunday the 25th, 00:00 Berlin, is 22:00 UTC on Saturday.
    assert hour_of_week(local, autumn)[(6, 0)] == (1, 1)
    assert hour_of_week(rollups, Period(date(2026, 10, 24), date(2026, 10, 24)))[(5, 22)] == (1, 1)


def test_platforms_agents_and_priorities_move_whole_utc_days_to_the_zones_day_of_their_noon() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: the approximate case
    rollups = roll_up(hourly_mentions(datetime(2026, 11, 2, tzinfo=UTC), 24, platform="facebook"))
    local = in_zone(rollups, kolkata)
    groups = {
        g["key"]: g["mentions"]
        for g in build_report(local, Period(date(2026, 11, 2), date(2026, 11, 2)), "platform")["groups"]
    }
    assert groups == {"facebook": 24}  # the whole UTC day, whose noon is 17:30 on the 2nd in Kolkata
    # "all" follows the hours: the UTC hours from 00:00 to 18:00 start at 05:30 to 23:30 on the 2nd there
    # (the 18:00 one half on the 3rd, counted on the 2nd), 19:00 to 23:00 on the 3rd.
    assert build_report(local, Period(date(2026, 11, 2), date(2026, 11, 2)))["mentions"] == 19
    assert build_report(local, Period(date(2026, 11, 3), date(2026, 11, 3)))["mentions"] == 5


def test_an_agents_counters_are_stored_under_a_short_key_named_once() -> None:
    image = mention_image(1, datetime(2026, 11, 2, 9, tzinfo=UTC))
    (fact,) = facts_of_record("MODIFY", image, answered(image, 600, "Olga.Someone@Example.com"), TARGETS)
    item: dict[str, Any] = {}
    add_in_memory(item, fact)
    spelled = [name for name, value in item.items() if "olga" in name or "olga" in str(value)]
    assert len(spelled) == 1 and item[spelled[0]] == "olga.someone@example.com"  # the one label
    assert counters_of_item(item)["agent=olga.someone@example.com"].answered == 1
    # An item written before the keys were short reads as it did.
    assert counters_of_item({"agent=bob@example.com|answered": 2})["agent=bob@example.com"].answered == 2
