"""The report's CSV and HTML from roll-ups: what a customer wrote is escaped, the page needs nothing outside
itself, and agents are listed alphabetically (not ranked)."""

import re
from datetime import date

from socialcare.measures.figures import Counters, bucket_of
from socialcare.measures.report_render import Comment, report_csv, report_html
from socialcare.measures.reports import Period, build_report

PERIOD = Period(date(2026, 11, 2), date(2026, 11, 8))
HOSTILE = '<script>alert(1)</script><img src="https://evil.example/x.png"> & "quotes"'


def counters(
    mentions: int, answered: int, waits: list[int], ratings: dict[int, int] | None = None
) -> Counters:
    made = Counters(mentions=mentions, answered=answered, met=answered, sent=answered)
    for seconds in waits:
        made.histogram[bucket_of(seconds)] = made.histogram.get(bucket_of(seconds), 0) + 1
    for rating, count in (ratings or {}).items():
        made.ratings[rating] = count
        made.responses += count
    return made


ROLLUPS = {
    "2026-11-03": {
        "all": counters(5, 3, [60, 600, 3000], {5: 2, 2: 1}),
        "platform=x": counters(5, 3, [60, 600, 3000]),
        "hour=09": counters(5, 3, [60, 600, 3000]),
        "agent=zoe@example.com": counters(0, 2, [60, 600], {5: 2}),
        "agent=<b>amy</b>@example.com": counters(0, 1, [3000], {2: 1}),
    }
}


def test_html_escapes_comments_and_names_and_needs_nothing_outside_itself() -> None:
    page = report_html(ROLLUPS, PERIOD, [Comment(2, HOSTILE, "x", "2026-11-03T10:00:00Z")])
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>amy</b>" not in page and "&lt;b&gt;amy&lt;/b&gt;@example.com" in page
    assert not re.search(r"(?:https?:)?//", page.replace("https://evil.example", ""))
    assert "evil.example" not in re.sub(r"<blockquote>.*?</blockquote>", "", page)  # only as escaped text
    assert page.index("&lt;b&gt;amy") < page.index("zoe@example.com")  # alphabetical


def test_csv_has_a_header_and_one_row_per_group() -> None:
    lines = report_csv(build_report(ROLLUPS, PERIOD, "agent")).splitlines()
    assert lines[0].startswith("key,mentions,answered,unanswered,first_response_median_s")
    assert [line.split(",")[0] for line in lines[1:]] == ["<b>amy</b>@example.com", "zoe@example.com"]
    assert report_csv(build_report(ROLLUPS, PERIOD)).splitlines()[1].startswith("all,5,3,2,")
