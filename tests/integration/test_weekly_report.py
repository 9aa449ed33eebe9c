"""The leads' weekly email through its handler, in-process against moto: the last 7 days against the 7
before, one email per lead, once a week however often the schedule fires."""

import sys
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from moto.sns.models import sns_backends

from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore, agent_id_for
from socialcare.measures import weekly_report
from socialcare.measures.figures import Counters, bucket_of
from socialcare.measures.reports import Period
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import ALICE, LEAD

pytestmark = pytest.mark.integration

MONDAY = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)


def day(mentions: int, answered: int, wait: int) -> Counters:
    counters = Counters(mentions=mentions, answered=answered, met=answered)
    counters.histogram[bucket_of(wait)] = answered
    return counters


def test_the_email_compares_the_last_7_days_with_the_7_before() -> None:
    rollups = {"2026-11-05": {"all": day(10, 8, 600)}, "2026-10-28": {"all": day(4, 4, 3000)}}
    subject, body = weekly_report.weekly_email(rollups, weekly_report.week_ending_yesterday(MONDAY))
    assert "8 answered" in subject
    lines = {line[:34].strip(): line[34:] for line in body.splitlines() if "(before:" in line}
    assert lines["Mentions received"].split() == ["10", "(before:", "4)"]
    assert lines["First response, median"].split()[:2] == ["10", "min"]
    before = lines["First response, median"].split("before:")[1].split()
    assert before[1] == "min)" and abs(int(before[0]) - 50) <= 2  # 3,000 s, read from the histogram
    assert weekly_report.week_ending_yesterday(MONDAY) == Period(
        datetime(2026, 11, 2).date(), datetime(2026, 11, 8).date()
    )


def test_each_lead_gets_one_email_a_week_however_often_it_runs(
    aws: Aws, handlers: Callable[[str], Invoke], monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = AgentStore(table(aws.table_name))
    agents.add(AgentRecord(agent=ALICE))
    agents.add(AgentRecord(agent=LEAD))
    run = handlers("WeeklyReportFunction")
    module = sys.modules["socialcare_functions.WeeklyReportFunction.app"]  # loaded by `handlers`
    monkeypatch.setattr(module, "utc_now", lambda: MONDAY)
    assert run({})["sent"] == 1
    assert run({}) == {"sent": 0, "reason": "already sent this week"}
    topic = sns_backends["123456789012"]["us-east-1"].topics[aws.environment["NOTIFICATION_TOPIC_ARN"]]
    emails = [(subject, attributes) for _id, _body, subject, attributes, _group in topic.sent_notifications]
    assert len(emails) == 1
    subject, attributes = emails[0]
    assert subject is not None and subject.startswith("Social Care week to 08 Nov")
    assert attributes is not None and attributes["agent_id"]["Value"] == agent_id_for(LEAD.email)
    monkeypatch.setattr(module, "utc_now", lambda: MONDAY.replace(day=10))
    assert run({}) == {"sent": 0, "reason": "not Monday"}
