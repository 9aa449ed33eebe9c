"""`socialcare doctor`: is this stack ready to take customers? One row per check, as a table or JSON, and
exit status 1 when something blocks (a `fail` row). `warn` rows need a look but do not block."""

import argparse
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra.cli.connection import stack_outputs
from infra.cli.operations import check_now, read_config_document

if TYPE_CHECKING:  # loaded when the command runs, not for `--help`
    from socialcare.models import Agent

WEBHOOK_OUTPUTS = ("XWebhookUrl", "MetaWebhookUrl", "SourceWebhookUrl")
COVERAGE_STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok | warn | fail
    detail: str


def config_findings(document: dict[str, Any]) -> list[Finding]:
    from socialcare.platforms.credentials import configuration_gaps

    return [Finding(*gap) for gap in configuration_gaps(document)]


def credential_findings(outputs: dict[str, str]) -> list[Finding]:
    report = check_now(outputs, alert=False)
    findings = [
        Finding(f"credentials {p.platform}", "fail" if p.blocking else "warn", f"{p.problem}. {p.action}")
        for p in report.problems
    ]
    troubled = {p.platform for p in report.problems}
    findings += [
        Finding(f"credentials {name}", "ok", "answered") for name in report.checked if name not in troubled
    ]
    return findings


def webhook_findings(outputs: dict[str, str]) -> list[Finding]:
    return [Finding(f"register {name}", "ok", outputs[name]) for name in WEBHOOK_OUTPUTS if name in outputs]


def uncovered_from(agents: list["Agent"], now: datetime) -> datetime | None:
    """The first moment in the next 24 hours when nobody is on shift (checked every 15 minutes)."""
    from socialcare.people.shifts import is_on_shift

    moment = now
    while moment <= now + timedelta(hours=24):
        if not any(agent.active and is_on_shift(agent, moment) for agent in agents):
            return moment
        moment += COVERAGE_STEP
    return None


def agent_findings(outputs: dict[str, str], now: datetime) -> list[Finding]:
    from socialcare.data import table
    from socialcare.data.agents import AgentStore
    from socialcare.people.shifts import is_on_shift

    agents = [record.agent for record in AgentStore(table(outputs["TableName"])).records()]
    active = [agent for agent in agents if agent.active]
    on_shift = [agent.email for agent in active if is_on_shift(agent, now)]
    findings = [
        Finding(
            "agents", "ok" if active else "fail", f"{len(active)} active" if active else "no active agent"
        ),
        Finding("on shift now", "ok" if on_shift else "warn", ", ".join(on_shift) or "nobody is on shift"),
    ]
    gap = uncovered_from(active, now)
    detail = f"nobody is on shift at {gap.isoformat(timespec='minutes')}" if gap else "always someone"
    findings.append(Finding("next 24 hours", "warn" if gap else "ok", detail))
    leads = [agent.email for agent in active if agent.lead]
    lead_detail = ", ".join(leads) or "no lead: credential and failed-reply alerts reach nobody"
    findings.append(Finding("leads", "ok" if leads else "fail", lead_detail))
    return findings


def sms_findings() -> list[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError

    from socialcare.aws_clients import client as aws_client

    sns = aws_client("sns")
    findings: list[Finding] = []
    try:
        sandbox = sns.get_sms_sandbox_account_status()["IsInSandbox"]
        detail = "in the SMS sandbox: only verified numbers get texts" if sandbox else "out of the sandbox"
        findings.append(Finding("sms sandbox", "warn" if sandbox else "ok", detail))
    except (BotoCoreError, ClientError, KeyError, NotImplementedError) as error:  # moto lacks these
        findings.append(Finding("sms sandbox", "warn", f"unknown ({type(error).__name__})"))
    try:
        limit = sns.get_sms_attributes(attributes=["MonthlySpendLimit"])["attributes"].get(
            "MonthlySpendLimit"
        )
        findings.append(
            Finding("sms spending limit", "ok" if limit else "warn", f"{limit or '1 (default)'} USD/month")
        )
    except (BotoCoreError, ClientError, KeyError, NotImplementedError) as error:  # moto lacks these
        findings.append(Finding("sms spending limit", "warn", f"unknown ({type(error).__name__})"))
    return findings


def alarm_findings(outputs: dict[str, str]) -> list[Finding]:
    prefix = outputs.get("DashboardName")  # alarms are named socialcare-<stage>-..., like the dashboard
    if not prefix:
        return [Finding("alarms", "ok", "none here (the local stack has no CloudWatch)")]
    from socialcare.aws_clients import client as aws_client

    pages = aws_client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix + "-")
    alarms = [alarm for page in pages for alarm in page.get("MetricAlarms", [])]
    firing = [alarm["AlarmName"] for alarm in alarms if alarm.get("StateValue") == "ALARM"]
    if not alarms:
        return [Finding("alarms", "warn", f"no alarm named {prefix}-*")]
    if firing:
        return [Finding("alarms", "fail", "in ALARM: " + ", ".join(firing))]
    return [Finding("alarms", "ok", f"{len(alarms)} alarms, none firing")]


def diagnose(outputs: dict[str, str]) -> list[Finding]:
    from socialcare.models import utc_now

    document = read_config_document(outputs)
    return [
        *config_findings(document),
        *credential_findings(outputs),
        *webhook_findings(outputs),
        *agent_findings(outputs, utc_now()),
        *sms_findings(),
        *alarm_findings(outputs),
    ]


def cmd_doctor(arguments: argparse.Namespace) -> None:
    findings = diagnose(stack_outputs(arguments))
    blocking = any(finding.status == "fail" for finding in findings)
    if arguments.json:
        print(json.dumps({"ready": not blocking, "checks": [asdict(f) for f in findings]}, indent=2))
    else:
        width = max(len(finding.check) for finding in findings)
        for finding in findings:
            print(f"{finding.check:<{width}}  {finding.status.upper():<4}  {finding.detail}")
        print("ready to take customers" if not blocking else "NOT ready: fix the FAIL rows")
    if blocking:
        raise SystemExit(1)


def register(commands: Any) -> None:
    doctor = commands.add_parser("doctor", help="is this stack ready to take customers? (exit 1 when not)")
    doctor.add_argument("--json", action="store_true", help="print a JSON object")
    doctor.set_defaults(run=cmd_doctor)
