"""The leads' weekly email: the headline figures of the last 7 days against the 7 before, once a week (the
first hourly run on a Monday, UTC, claims the week). Headlines only: no per-agent figures, no ranking."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from socialcare.data.agents import agent_id_for
from socialcare.measures.reports import Period, Rollups, build_report
from socialcare.models import Agent
from socialcare.observability import logger

HEADLINES: tuple[tuple[str, Callable[[dict[str, Any]], Any], str], ...] = (
    ("Mentions received", lambda r: r["mentions"], "count"),
    ("Answered", lambda r: r["answered"], "count"),
    ("Unanswered", lambda r: r["unanswered"], "count"),
    ("First response, median", lambda r: r["first_response_seconds"]["median"], "wait"),
    ("First response, 90th percentile", lambda r: r["first_response_seconds"]["p90"], "wait"),
    ("Response target met", lambda r: r["sla"]["share"], "share"),
    ("Surveys answered", lambda r: r["csat"]["responses"], "count"),
    ("Satisfied (4 or 5)", lambda r: r["csat"]["score_share"], "share"),
)


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "share":
        return f"{value * 100:.0f}%"
    if kind == "wait":
        return f"{value / 60:.0f} min" if value < 5400 else f"{value / 3600:.1f} h"
    return str(value)


def weekly_email(rollups: Rollups, this_week: Period) -> tuple[str, str]:
    """Subject and plain-text body comparing `this_week` with the 7 days before it."""
    current = build_report(rollups, this_week)
    previous = build_report(rollups, this_week.previous())
    lines = [
        f"Social Care, {this_week.since:%a %d %b} to {this_week.until:%a %d %b %Y} (UTC), "
        f"against the 7 days before:",
        "",
    ]
    for label, pick, kind in HEADLINES:
        lines.append(
            f"{label:<34}{_shown(pick(current), kind):>10}   (before: {_shown(pick(previous), kind)})"
        )
    lines += [
        "",
        "First response is how long customers waited for our first reply. Nothing here measures how long",
        "anyone spent on a reply. The whole report: socialcare report --html report.html",
    ]
    subject = f"Social Care week to {this_week.until:%d %b}: {current['answered']} answered"
    return subject, "\n".join(lines)


def week_ending_yesterday(now: datetime) -> Period:
    return Period.last_days(7, (now - timedelta(days=1)).date())


def send_to_leads(sns: Any, topic_arn: str, agents: list[Agent], subject: str, body: str) -> int:
    """One email per lead through the notification topic (each lead's subscription filters on agent_id)."""
    leads = [agent for agent in agents if agent.lead and agent.active]
    if not leads:
        logger.warning("no lead to send the weekly report to: make an agent a lead")
    for lead in leads:
        sns.publish(
            TopicArn=topic_arn,
            Subject=subject[:99],
            Message=body,
            MessageAttributes={"agent_id": {"DataType": "String", "StringValue": agent_id_for(lead.email)}},
        )
    return len(leads)
