"""The access token for the Business Profile API. Google's access tokens live about an hour, so a deployment
configures an OAuth client and the brand's refresh token (`client_id`, `client_secret`, `refresh_token`): the
token is got with `POST https://oauth2.googleapis.com/token` (`grant_type=refresh_token`, form-encoded) and
kept by the warm function until shortly before its `expires_in`. A fixed `access_token` still works, for
tests and short trials. Neither token is ever logged or stored."""

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests

from socialcare.platforms.base import NeedsConfiguration, PostContext, RetryLater
from socialcare.platforms.google_reviews.config import GoogleReviewsConfig
from socialcare.platforms.http import PlatformClient, number

if TYPE_CHECKING:
    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.base import CredentialProblem

REFRESH_MARGIN_S = 300  # get a new token this long before the old one expires
# Google's answers that only a person can fix: a revoked or expired refresh token, a wrong client.
REFUSED = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"})


@dataclass(frozen=True)
class _Cached:
    token: str
    refresh_at: float


_cache: dict[tuple[str, str, str], _Cached] = {}
_lock = threading.Lock()


def _key(google: GoogleReviewsConfig) -> tuple[str, str, str]:
    # The refresh token's hash, not the token: the key is all this cache needs to tell accounts apart.
    return (google.token_url, google.client_id, hashlib.sha256(google.refresh_token.encode()).hexdigest())


def forget_tokens() -> None:
    """Drop every cached access token (a 401 from the API, tests)."""
    with _lock:
        _cache.clear()


def access_token(google: GoogleReviewsConfig, context: PostContext) -> str:
    """A current access token: the cached one, a fresh one from the refresh token, or the fixed one.
    Raises NeedsConfiguration (nothing configured, or Google refused the client or the refresh token) or
    RetryLater (Google's token endpoint did not answer)."""
    if not google.refreshes:
        if not google.access_token:
            raise NeedsConfiguration(
                "google_reviews.refresh_token (with client_id and client_secret) or google_reviews."
                "access_token is not configured"
            )
        return google.access_token
    now = context.now()
    with _lock:
        cached = _cache.get(_key(google))
    if cached is not None and now < cached.refresh_at:
        return cached.token
    token, lifetime = _refresh(google, context)
    margin = min(REFRESH_MARGIN_S, lifetime / 2)
    with _lock:
        _cache[_key(google)] = _Cached(token, now + lifetime - margin)
    return token


def _refresh(google: GoogleReviewsConfig, context: PostContext) -> tuple[str, float]:
    form = {
        "grant_type": "refresh_token",
        "client_id": google.client_id,
        "client_secret": google.client_secret,
        "refresh_token": google.refresh_token,
    }
    client = PlatformClient("google token", context, [google.client_secret, google.refresh_token], _refusal)
    answer = client.post(
        google.token_url,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=urlencode(form).encode(),
    )
    token = answer.get("access_token")
    lifetime = number(answer.get("expires_in"))
    if not isinstance(token, str) or not token:
        raise RetryLater("google token: answered without an access_token")
    return token, lifetime if lifetime is not None and lifetime > 0 else 3600.0


def _refusal(calls: PlatformClient, response: requests.Response, answer: Mapping[str, Any]) -> None:
    error = answer.get("error")
    if isinstance(error, str) and error in REFUSED:
        detail = answer.get("error_description")
        key = "google_reviews.refresh_token" if error == "invalid_grant" else "google_reviews.client_id"
        raise NeedsConfiguration(calls.reason(f"{key} was refused by Google ({error})", detail), error)


# ---------------------------------------------------------------- the credentials check
ACTION = (
    "Authorize the brand's Google account for the business.manage scope with your OAuth client, and put the "
    "refresh token in google_reviews.refresh_token (client_id and client_secret beside it)."
)


def check(
    config: "PlatformConfig", google: GoogleReviewsConfig, session: requests.Session
) -> "list[CredentialProblem]":
    """The refresh token is exchanged for an access token now; a fixed access token is a warning: it dies
    within the hour."""
    import time

    from socialcare.platforms.base import CredentialProblem, check_with

    if google.refreshes:
        context = PostContext(config, session, time.time)
        key = "google_reviews.refresh_token"
        return check_with(
            "google_reviews", key, ACTION, lambda: _refresh(google, context), "google_reviews.token_url"
        )
    if google.access_token:
        key = "google_reviews.access_token"
        problem = f"{key} is a fixed token, and Google's access tokens expire within the hour"
        return [CredentialProblem("google_reviews", key, problem, ACTION, blocking=False)]
    key = "google_reviews.refresh_token"
    return [
        CredentialProblem(
            "google_reviews", key, f"{key} is empty: reviews cannot be read or answered", ACTION
        )
    ]
