"""Meta's credentials check: the Page token's debug look-up, which also answers for the linked Instagram
account."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import requests

from socialcare.platforms.base import CredentialProblem
from socialcare.platforms.http import json_mapping, probe
from socialcare.platforms.meta.config import MetaConfig

EXPIRY_WARNING = timedelta(days=7)


def is_configured(config: MetaConfig) -> bool:
    return any((config.app_secret, config.page_access_token, config.page_id, config.ig_user_id))


def check_meta(config: MetaConfig, session: requests.Session, now: datetime) -> list[CredentialProblem]:
    """Meta: the token debug look-up (`GET /debug_token`) for the Page token, which also answers for the
    Instagram account linked to the Page: valid, and when it expires."""
    if not config.page_access_token:
        return [_meta("is empty: replies to Facebook and Instagram cannot be posted")]
    app_token = f"{config.app_id}|{config.app_secret}" if config.app_id else config.page_access_token
    response = probe(
        session,
        config.graph_base.rstrip("/") + "/debug_token",
        params={"input_token": config.page_access_token, "access_token": app_token},
    )
    if isinstance(response, str):
        return [_meta(response, blocking=False)]
    data = json_mapping(response).get("data")
    if not isinstance(data, Mapping):
        error = json_mapping(response).get("error", {})
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
