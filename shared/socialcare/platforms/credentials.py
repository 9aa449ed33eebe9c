"""Is each platform's credential still good? One check per platform, through the platform's own API, so a
dead token is found by the daily check instead of by a customer's reply that never went out.

Each check returns the problems it found as CredentialProblem, each naming the key of the configuration
document a person must fix and what to do; no problem means the credential answered. Tokens never appear
in a problem or a log line. Checks are small on purpose: each belongs beside its platform's adapter."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import requests

from socialcare.platform_config import PlatformConfig

# The problem a check finds is one of the values that cross the adapters' interface (platforms.base).
from socialcare.platforms.base import CredentialProblem
from socialcare.platforms.meta.config import MetaConfig
from socialcare.platforms.sources.config import SourceConfig, SourcesConfig
from socialcare.platforms.x.config import XConfig

if TYPE_CHECKING:
    from socialcare.platforms.base import CredentialChecking

__all__ = ["CheckReport", "CredentialProblem", "check_credentials"]

TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
EXPIRY_WARNING = timedelta(days=7)
USER_AGENT = "socialcare-credentials-check/0.1"


def _get(
    session: requests.Session, url: str, *, token: str = "", params: dict[str, str] | None = None
) -> requests.Response | str:
    """The response, or why there is none (the reason names the host, never the token or the query)."""
    headers = {"user-agent": USER_AGENT}
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        return session.get(url, timeout=TIMEOUT, headers=headers, params=params)
    except requests.RequestException as error:
        return f"could not reach {url.split('?')[0]}: {type(error).__name__}"


def _json(response: requests.Response) -> Mapping[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, Mapping) else {}


# ---------------------------------------------------------------- X
def check_x(config: XConfig, session: requests.Session) -> list[CredentialProblem]:
    """X: who am I (`GET /2/users/me`) with the posting token."""
    if not config.bearer_token:
        return [_x("x.bearer_token", "is empty: replies to X cannot be posted")]
    response = _get(
        session,
        config.api_base.rstrip("/") + "/2/users/me",
        token=config.bearer_token,
    )
    if isinstance(response, str):
        return [_x("x.api_base", response, blocking=False)]
    if response.status_code in (401, 403):
        return [_x("x.bearer_token", f"was refused by X ({response.status_code})")]
    if response.status_code >= 400:
        return [_x("x.bearer_token", f"X answered {response.status_code}", blocking=False)]
    user_id = str(_json(response).get("data", {}).get("id", ""))
    if config.brand_user_id and user_id and user_id != config.brand_user_id:
        return [_x("x.bearer_token", f"belongs to user {user_id}, not x.brand_user_id")]
    return []


def _x(key: str, problem: str, *, blocking: bool = True) -> CredentialProblem:
    action = "Create a new user-context token for the brand account in X's developer portal and put it in "
    return CredentialProblem("x", key, f"{key} {problem}", action + f"{key}.", blocking)


# ---------------------------------------------------------------- Meta
def check_meta(config: MetaConfig, session: requests.Session, now: datetime) -> list[CredentialProblem]:
    """Meta: the token debug look-up (`GET /debug_token`) for the Page token, which also answers for the
    Instagram account linked to the Page: valid, and when it expires."""
    if not config.page_access_token:
        return [_meta("is empty: replies to Facebook and Instagram cannot be posted")]
    app_token = f"{config.app_id}|{config.app_secret}" if config.app_id else config.page_access_token
    response = _get(
        session,
        config.graph_base.rstrip("/") + "/debug_token",
        params={"input_token": config.page_access_token, "access_token": app_token},
    )
    if isinstance(response, str):
        return [_meta(response, blocking=False)]
    data = _json(response).get("data")
    if not isinstance(data, Mapping):
        error = _json(response).get("error", {})
        code = error.get("code") if isinstance(error, Mapping) else None
        return [_meta(f"could not be looked up (HTTP {response.status_code}, error {code})")]
    expires_at = _expiry(data.get("expires_at"))
    if not data.get("is_valid", False):
        return [_meta("is invalid or expired (Meta error 190 on every reply)", expires_at=expires_at)]
    if expires_at is not None and expires_at - now <= EXPIRY_WARNING:
        days = max(0, (expires_at - now).days)
        return [_meta(f"expires in {days} days", blocking=False, expires_at=expires_at)]
    return []


def _expiry(value: object) -> datetime | None:
    # Meta answers 0 for a token that never expires (a long-lived Page token).
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _meta(problem: str, *, blocking: bool = True, expires_at: datetime | None = None) -> CredentialProblem:
    key = "meta.page_access_token"
    action = (
        "Generate a new long-lived Page access token (Graph API Explorer or the Business Manager system "
        f"user) for the Page linked to the Instagram account, and put it in {key}."
    )
    return CredentialProblem("meta", key, f"{key} {problem}", action, blocking, expires_at)


# ---------------------------------------------------------------- Standard Webhooks sources
def check_source(name: str, config: SourceConfig, session: requests.Session) -> list[CredentialProblem]:
    """A source: its reply URL answers (any answer but a server error or a missing page)."""
    key = f"sources.{name}.reply_url"
    action = f"Ask the owner of the {name} source for the URL that takes replies and put it in {key}."
    if not config.reply_url:
        return [CredentialProblem(name, key, f"{key} is empty: replies to {name} cannot be posted", action)]
    answer = _get(session, config.reply_url)
    if isinstance(answer, str):
        return [CredentialProblem(name, key, f"{key}: {answer}", action)]
    if answer.status_code >= 500 or answer.status_code in (404, 410):
        return [CredentialProblem(name, key, f"{key} answered {answer.status_code}", action)]
    return []


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


def _x_configured(config: XConfig) -> bool:
    return any((config.consumer_secret, config.bearer_token, config.brand_user_id))


def _meta_configured(config: MetaConfig) -> bool:
    return any((config.app_secret, config.page_access_token, config.page_id, config.ig_user_id))


def check_credentials(config: PlatformConfig, session: requests.Session, now: datetime) -> CheckReport:
    """Check every configured platform; a platform with nothing filled in is not in use and not checked."""
    report = CheckReport()
    x_config, meta_config = config.section("x", XConfig), config.section("meta", MetaConfig)
    if _x_configured(x_config):
        report.checked.append("x")
        report.problems += check_x(x_config, session)
    if _meta_configured(meta_config):
        report.checked.append("meta")
        report.problems += check_meta(meta_config, session, now)
    for name, source in sorted(config.section("sources", SourcesConfig).root.items()):
        report.checked.append(name)
        report.problems += check_source(name, source, session)
    for checking in _checking_adapters():
        found = checking.check_credentials(config, session, now)
        if found is not None:  # None: the platform is not in use
            report.checked.append(checking.webhook)
            report.problems += found
    return report


def _checking_adapters() -> "list[CredentialChecking]":
    """The adapters that check their own credential (Threads, Google reviews, Bluesky)."""
    from socialcare.platforms import registry  # the registry imports every platform package

    return [
        cast("CredentialChecking", adapter)
        for adapter in registry.webhooks()
        if callable(getattr(adapter, "check_credentials", None))
    ]


# The keys a platform cannot work without; a platform with none of them filled in is simply not in use.
REQUIRED_KEYS = {
    "x": ("consumer_secret", "brand_user_id", "bearer_token"),
    "meta": ("app_secret", "verify_token", "page_id", "page_access_token"),
}


def configuration_gaps(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, ok | warn | fail, detail) per platform of the configuration document: `socialcare doctor`."""
    findings: list[tuple[str, str, str]] = []
    in_use = 0
    for platform, keys in REQUIRED_KEYS.items():
        section = document.get(platform) or {}
        empty = [f"{platform}.{key}" for key in keys if not str(section.get(key) or "").strip()]
        if len(empty) == len(keys):
            findings.append((f"config {platform}", "warn", "not configured (not in use)"))
            continue
        in_use += 1
        status, detail = ("fail", "missing or empty: " + ", ".join(empty)) if empty else ("ok", "complete")
        findings.append((f"config {platform}", status, detail))
    for name, source in sorted((document.get("sources") or {}).items()):
        in_use += 1
        empty = [f"sources.{name}.{key}" for key in ("secret", "reply_url") if not (source or {}).get(key)]
        detail = "missing or empty: " + ", ".join(empty) if empty else "complete"
        findings.append((f"config source {name}", "fail" if empty else "ok", detail))
    if not in_use:
        findings.append(("config", "fail", "no platform is configured: fill in the configuration"))
    return findings
