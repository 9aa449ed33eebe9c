"""The credentials check: every configured platform's credential, through its own API (the checks are in
socialcare.platforms.credentials), daily and on demand. A failing or soon-expiring credential emails the
leads, once a day per configuration key until it is fixed, naming the key and what to do.

Run by the CredentialsCheckFunction every day, by `socialcare credentials check` on demand, and (without
emailing) by `socialcare doctor`."""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import requests

from socialcare.data.alerts import AlertStore
from socialcare.observability import logger
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.credentials import CheckReport, CredentialProblem, check_credentials


class LeadAlerter(Protocol):
    def alert_leads(self, subject: str, message: str) -> None: ...


def alert_once_a_day(report: CheckReport, alerts: AlertStore, leads: LeadAlerter, now: datetime) -> None:
    """Email the leads about the problems not yet emailed today (one email for all of them)."""
    fresh = [p for p in report.problems if alerts.claim_daily(f"credentials#{p.key}", now)]
    if not fresh:
        return
    subject, body = credentials_email(fresh)
    try:
        leads.alert_leads(subject, body)
    except Exception:
        for problem in fresh:  # not sent: the next check tries again
            alerts.release(f"credentials#{problem.key}", now)
        raise
    report.emailed = [problem.key for problem in fresh]
    logger.warning("leads emailed about credentials", keys=report.emailed)


def credentials_email(problems: list[CredentialProblem]) -> tuple[str, str]:
    """ASCII subject under 100 characters (SNS rule for email subjects); the keys and actions in the body."""
    failing = sum(1 for problem in problems if problem.blocking)
    what = f"{failing} failing" if failing else f"{len(problems)} expiring soon"
    subject = f"Social Care: platform credentials need attention ({what})"[:99]
    lines = ["Replies to customers will fail (or soon will) until these are fixed:", ""]
    for problem in problems:
        lines += [
            f"- {problem.key}: {problem.problem}",
            f"  What to do: {problem.action}",
            "",
        ]
    lines.append("You get this email once a day until the check passes (`socialcare doctor` shows it now).")
    return subject, "\n".join(lines) + "\n"


def run_daily_check(
    config: Callable[[], PlatformConfig],
    session: requests.Session,
    alerts: AlertStore,
    leads: LeadAlerter,
    now: datetime,
) -> CheckReport:
    report = check_credentials(config(), session, now)
    for problem in report.problems:
        logger.warning("credential problem", key=problem.key, blocking=problem.blocking)
    alert_once_a_day(report, alerts, leads, now)
    return report
