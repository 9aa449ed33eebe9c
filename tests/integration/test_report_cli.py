"""`socialcare report` in-process against moto, over roll-ups the measures function kept from the stream:
the issue's JSON fields, CSV rows per group, and the self-contained HTML page."""

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra import cli
from infra.cli import report as report_cli
from socialcare.data import table
from socialcare.models import MentionStatus
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import customer_mention
from tests.integration.test_measures import measures_records

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def run(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    monkeypatch.setattr(report_cli, "report_table", lambda _arguments: table(aws.table_name))

    def run(*arguments: str) -> str:
        capsys.readouterr()
        cli.main(["report", *arguments])
        return capsys.readouterr().out

    return run


@pytest.fixture
def measured(aws: Aws, handlers: Callable[[str], Invoke]) -> None:
    """Four X and Facebook mentions received today; three answered, by two agents, one over its target."""
    store = aws.mention_store()
    answers = {"0": (600, "ann@example.com"), "1": (1200, "ann@example.com"), "2": (7200, "bob@example.com")}
    for number, platform in (("0", "x"), ("1", "x"), ("2", "facebook"), ("3", "facebook")):
        assert store.put_if_new(customer_mention(number, platform=platform, created_at=NOW))
        if number in answers:
            seconds, agent = answers[number]
            assert store.transition(
                f"{platform}-{number}",
                set_fields={
                    "status": MentionStatus.ANSWERED,
                    "priority": "normal",
                    "answered_at": NOW,
                    "answered_by": agent,
                    "first_response_seconds": seconds,
                },
            )
    assert handlers("MeasuresFunction")({"Records": measures_records(aws)}) == {"batchItemFailures": []}


def test_json_has_the_issues_fields_and_groups(measured: None, run: Callable[..., str]) -> None:
    report: dict[str, Any] = json.loads(run("--json", "--by", "platform"))
    assert list(report) == [
        "since",
        "until",
        "time_zone",
        "mentions",
        "answered",
        "unanswered",
        "first_response_seconds",
        "sla",
        "csat",
        "groups",
    ]
    assert report["until"] == NOW.date().isoformat()
    assert report["since"] == (NOW.date() - timedelta(days=6)).isoformat()  # the last 7 days by default
    assert (report["mentions"], report["answered"], report["unanswered"]) == (4, 3, 1)
    assert report["sla"] == {"met": 2, "missed": 1, "share": 0.6667}
    assert report["first_response_seconds"]["count"] == 3
    assert abs(report["first_response_seconds"]["median"] - 1200) <= 0.05 * 1200
    assert report["csat"] == {
        "sent": 0,
        "responses": 0,
        "response_rate": None,
        "score_share": None,
        "average": None,
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
    }
    groups = {g["key"]: g for g in report["groups"]}
    assert list(groups) == ["facebook", "x"]
    assert (groups["facebook"]["mentions"], groups["facebook"]["answered"]) == (2, 1)
    assert set(groups["x"]) == {"key", *list(report)[3:-1]}


def test_a_period_without_roll_ups_reports_zeros(measured: None, run: Callable[..., str]) -> None:
    report = json.loads(run("--json", "--since", "2020-01-01", "--until", "2020-01-31"))
    assert (report["mentions"], report["answered"]) == (0, 0)
    assert report["first_response_seconds"]["median"] is None


def test_csv_prints_one_row_per_agent(measured: None, run: Callable[..., str]) -> None:
    rows = list(csv.DictReader(io.StringIO(run("--csv", "--by", "agent"))))
    assert [(r["key"], r["answered"], r["sla_met"]) for r in rows] == [
        ("ann@example.com", "2", "2"),
        ("bob@example.com", "1", "0"),
    ]


def test_html_is_one_page_with_charts_and_nothing_external(
    measured: None, run: Callable[..., str], tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    assert "written to" in run("--html", str(target))
    page = target.read_text()
    assert page.count("<svg") >= 5
    assert "<script" not in page.lower()
    assert not re.search(r"(?:https?:)?//", page), "no external URL"
    assert "ann@example.com" in page and "bob@example.com" in page


def test_since_after_until_is_refused(run: Callable[..., str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--since", "2026-02-01", "--until", "2026-01-01")
    assert exited.value.code == 1
    assert "is after" in capsys.readouterr().err


@pytest.fixture
def late_evening(aws: Aws) -> None:
    """A mention received at 23:30 UTC on Monday 2 November 2026 (00:30 on Tuesday in Berlin), answered in
    20 minutes."""
    from socialcare.data.rollups import RollupStore
    from socialcare.measures.figures import facts_of_record

    image = {
        "entity": "mention",
        "platform": "x",
        "external_id": "late",
        "priority": "normal",
        "received_at": "2026-11-02T23:30:00+00:00",
    }
    done = {**image, "answered_at": "2026-11-02T23:50:00Z", "answered_by": "ann@example.com"}
    store = RollupStore(table(aws.table_name))
    targets = {"normal": timedelta(hours=1)}
    for event_name, old, new in (
        ("INSERT", {}, image),
        ("MODIFY", image, {**done, "first_response_seconds": 1200}),
    ):
        for fact in facts_of_record(event_name, old, new, targets):
            assert store.record(fact)


def test_tz_reads_the_days_and_hours_in_the_leads_zone(
    late_evening: None, run: Callable[..., str], tmp_path: Path
) -> None:
    tuesday = ("--since", "2026-11-03", "--until", "2026-11-03")
    berlin = json.loads(run("--json", "--by", "hour", "--tz", "Europe/Berlin", *tuesday))
    assert (berlin["time_zone"], berlin["mentions"], berlin["answered"]) == ("Europe/Berlin", 1, 1)
    assert [(g["key"], g["mentions"]) for g in berlin["groups"]] == [("00", 1)]
    utc = json.loads(run("--json", "--by", "hour", *tuesday))
    assert (utc["time_zone"], utc["mentions"], utc["groups"]) == ("UTC", 0, [])
    monday = json.loads(run("--json", "--by", "hour", "--since", "2026-11-02", "--until", "2026-11-02"))
    assert [(g["key"], g["mentions"]) for g in monday["groups"]] == [("23", 1)]

    target = tmp_path / "berlin.html"
    run("--html", str(target), "--tz", "Europe/Berlin", *tuesday)
    page = target.read_text()
    assert "hour of the week (Europe/Berlin)" in page
    assert "Tue 00:00 Europe/Berlin: 1 received, 1 answered" in page


def test_an_unknown_tz_is_one_line(run: Callable[..., str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--json", "--tz", "Europe/Berln")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'Europe/Berln' is not an IANA time zone: try --tz Europe/Berlin" in err
