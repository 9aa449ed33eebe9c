"""X's credentials check: who am I (`GET /2/users/me`) with the posting token."""

import requests

from socialcare.platforms.base import CredentialProblem
from socialcare.platforms.http import json_mapping, probe
from socialcare.platforms.x.config import XConfig


def is_configured(config: XConfig) -> bool:
    return any((config.consumer_secret, config.bearer_token, config.brand_user_id))


def check_x(config: XConfig, session: requests.Session) -> list[CredentialProblem]:
    """X: who am I (`GET /2/users/me`) with the posting token."""
    if not config.bearer_token:
        return [_x("x.bearer_token", "is empty: replies to X cannot be posted")]
    response = probe(
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
    user_id = str(json_mapping(response).get("data", {}).get("id", ""))
    if config.brand_user_id and user_id and user_id != config.brand_user_id:
        return [_x("x.bearer_token", f"belongs to user {user_id}, not x.brand_user_id")]
    return []


def _x(key: str, problem: str, *, blocking: bool = True) -> CredentialProblem:
    action = "Create a new user-context token for the brand account in X's developer portal and put it in "
    return CredentialProblem("x", key, f"{key} {problem}", action + f"{key}.", blocking)
