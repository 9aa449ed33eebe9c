"""`socialcare report`: response times, SLA met and satisfaction from the daily roll-ups, as text, JSON, CSV
or a self-contained HTML page."""

import argparse
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from infra.cli.connection import CliError, stack_outputs
from infra.cli.inputs import time_zone
from socialcare.measures.report_render import Comment, report_csv, report_html
from socialcare.measures.reports import GROUPINGS, Period, build_report

DEFAULT_DAYS = 7
LATEST_COMMENTS = 10


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from error


def period_of(arguments: argparse.Namespace, today: date) -> Period:
    until = arguments.until or today
    since = arguments.since or Period.last_days(DEFAULT_DAYS, until).since
    if since > until:
        raise CliError(f"--since {since} is after --until {until}")
    return Period(since, until)


def report_table(arguments: argparse.Namespace) -> Any:
    from socialcare.data.mentions import table  # the data layer (botocore) only when a report is read

    return table(stack_outputs(arguments)["TableName"])


def cmd_report(arguments: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo

    from socialcare.data.rollups import RollupStore
    from socialcare.data.surveys import SurveyStore
    from socialcare.measures.reports import in_zone

    zone = ZoneInfo(arguments.tz)  # checked by the argument's type
    period = period_of(arguments, datetime.now(zone).date())
    shared_table = report_table(arguments)
    rollups = RollupStore(shared_table).read(period.utc_days(zone))
    if arguments.tz != "UTC":
        rollups = in_zone(rollups, zone)
    if arguments.html:
        surveys = SurveyStore(shared_table)
        comments = [
            Comment(s.rating or 0, s.comment or "", s.platform, s.rated_at.isoformat() if s.rated_at else "")
            for s in surveys.latest_comments(LATEST_COMMENTS)
        ]
        page = report_html(rollups, period, comments, zone=arguments.tz)
        Path(arguments.html).write_text(page, encoding="utf-8")
        print(f"written to {arguments.html}")
        return
    figures = build_report(rollups, period, arguments.by)
    report = {"since": figures["since"], "until": figures["until"], "time_zone": arguments.tz, **figures}
    if arguments.json:
        print(json.dumps(report, indent=2))
    elif arguments.csv:
        print(report_csv(report), end="")
    else:
        print_text(report)


def print_text(report: dict[str, Any]) -> None:
    print(f"{report['since']} to {report['until']} ({report['time_zone']})")
    for row in [report, *report.get("groups", [])]:
        frt, sla, csat = row["first_response_seconds"], row["sla"], row["csat"]
        label = row.get("key", "all")
        print(
            f"{label:<24} mentions {row['mentions']:>6}  answered {row['answered']:>6}  "
            f"first response median {_or_dash(frt['median'])} s, p90 {_or_dash(frt['p90'])} s  "
            f"SLA met {_or_dash(sla['share'])}  surveys {csat['sent']}/{csat['responses']}  "
            f"satisfied {_or_dash(csat['score_share'])}"
        )


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def register(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="response times, SLA met and satisfaction (default: the last 7 days)"
    )
    report.add_argument("--since", type=iso_date, help="first day, YYYY-MM-DD (from midnight in --tz)")
    report.add_argument("--until", type=iso_date, help="last day, included (default: today in --tz)")
    report.add_argument(
        "--tz", type=time_zone, default="UTC", help="IANA time zone of the days and hours (default: UTC)"
    )
    report.add_argument("--by", choices=GROUPINGS, help="also one group per platform, agent, ...")
    formats = report.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print one JSON object")
    formats.add_argument("--csv", action="store_true", help="print one row per group")
    formats.add_argument("--html", metavar="FILE", help="write a self-contained HTML page with charts")
    report.set_defaults(run=cmd_report)
