"""Is each platform's credential still good? Each adapter checks its own, through its platform's API
(`check_credentials`, in its package), so a dead token is found by the daily check instead of by a
customer's reply that never went out. Here: the report over every adapter, and what `socialcare doctor`
says of the configuration document.

A problem names the key of the configuration document a person must fix and what to do; no problem means
the credential answered. Tokens never appear in a problem or a log line."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import requests

from socialcare.platform_config import PlatformConfig

# The problem a check finds is one of the values that cross the adapters' interface (platforms.base).
from socialcare.platforms.base import CredentialProblem, RequiredConfig

if TYPE_CHECKING:
    from socialcare.platforms.base import CredentialChecking

__all__ = ["CheckReport", "CredentialProblem", "check_credentials"]


# ---------------------------------------------------------------- every platform
@dataclass
class CheckReport:
    checked: list[str] = field(default_factory=list)  # the platforms that are configured and were checked
    problems: list[CredentialProblem] = field(default_factory=list)
    emailed: list[str] = field(default_factory=list)  # the keys the leads were emailed about by this run

    @property
    def blocking(self) -> list[CredentialProblem]:
        return [problem for problem in self.problems if problem.blocking]

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "problems": [problem.to_dict() for problem in self.problems],
            "emailed": self.emailed,
        }


def check_credentials(config: PlatformConfig, session: requests.Session, now: datetime) -> CheckReport:
    """Check every configured platform; a platform with nothing filled in is not in use and not checked."""
    report = CheckReport()
    for checking in _checking_adapters():
        for name, problems in checking.check_credentials(config, session, now).items():
            report.checked.append(name)
            report.problems += problems
    return report


def _checking_adapters() -> "list[CredentialChecking]":
    """The adapters that check their own credential (every platform with one)."""
    from socialcare.platforms import registry  # the registry imports every platform package

    return [
        cast("CredentialChecking", adapter)
        for adapter in registry.webhooks()
        if callable(getattr(adapter, "check_credentials", None))
    ]


def configuration_gaps(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, ok | warn | fail, detail) per platform of the configuration document: `socialcare doctor`. Each
    adapter names the keys it cannot work without (`required_config`); a section with none of them filled
    in is simply not in use."""
    from socialcare.platforms import registry  # the registry imports every platform package

    findings: list[tuple[str, str, str]] = []
    in_use = 0
    for adapter in registry.webhooks():
        own_gaps = getattr(adapter, "configuration_gaps", None)  # a platform of named entries (sources)
        if callable(own_gaps):
            gaps: list[tuple[str, str, str]] = own_gaps(document)
            in_use += len(gaps)
            findings += gaps
        required: RequiredConfig | None = getattr(adapter, "required_config", None)
        if required is None:
            continue
        gap = required.gap(document)
        if gap is None:
            findings.append((f"config {required.section}", "warn", "not configured (not in use)"))
            continue
        in_use += 1
        findings.append((f"config {required.section}", *gap))
    if not in_use:
        findings.append(("config", "fail", "no platform is configured: fill in the configuration"))
    return findings
