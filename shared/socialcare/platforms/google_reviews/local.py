"""Google reviews for local runs: the simulated Business Profile API (a review read, its reply put and
deleted) under `/google-api/v4`, Google's OAuth token endpoint at `/google-oauth/token`, reviews added with
POST /google/reviews, and `socialcare simulate google-review`: the review (text, reviewer, stars) is given
to the simulator, then pushed to our route with a token signed by the dev configuration's
`dev_signing_key` (whose public half is the dev configuration's `jwks`)."""

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from socialcare.platform_config import PlatformConfig
from socialcare.platforms.google_reviews import payloads
from socialcare.platforms.google_reviews.config import SECTION
from socialcare.platforms.local import (
    Answer,
    Call,
    Option,
    SignedRequest,
    SimulatedEvent,
    SimulationError,
    Simulator,
    numeric_id,
    ok_calls,
    section_urls,
)

PREFIX = "/google-api/v4"
REVIEW = re.compile(
    rf"^{re.escape(PREFIX)}/accounts/[^/]+/locations/[^/]+/reviews/(?P<id>[^/]+)(?P<reply>/reply)?$"
)
ADD = "/google/reviews"
TOKEN = "/google-oauth/token"  # noqa: S105 - a path (Google's https://oauth2.googleapis.com/token)
DEV_KID = "dev-google-key"
STAR_RATINGS = ("ONE", "TWO", "THREE", "FOUR", "FIVE")


def build_review(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    section = config.raw_section(SECTION)
    settings = section if isinstance(section, Mapping) else {}
    key, audience = settings.get("dev_signing_key"), settings.get("audience")
    if not key or not audience:
        raise SimulationError("google_reviews.dev_signing_key and .audience are needed to sign a push")
    review_id = str(options.get("id") or f"r{numeric_id(12)}")
    # The push names the review only: the simulator is given its words first, for our read of it.
    review = payloads.review(
        review_id, str(options["text"]), str(options["sender"]), options.get("stars") or "TWO"
    )
    given = SignedRequest(ADD, json.dumps(review).encode(), {"content-type": "application/json"}, True)
    token = payloads.oidc_token(key, DEV_KID, payloads.claims(audience, time.time()))
    body = json.dumps(payloads.push(review_id)).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    return SignedRequest("/webhooks/google-reviews", body, headers, given=(given,))


class LocalGoogleReviews:
    events = (
        SimulatedEvent(
            name="google-review",
            help="a Google review pushed by Pub/Sub (the simulator is given its text, then answers our read)",
            sender_help="the reviewer's name",
            build=build_review,
            options=(
                Option(
                    ("--stars",),
                    {"choices": list(STAR_RATINGS), "default": "TWO", "help": "the review's star rating"},
                ),
            ),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return section_urls(document, SECTION, "api_base", "token_url")

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        if call.path == ADD:
            ok = call.method == "POST" and isinstance(call.body, dict) and "reviewId" in call.body
            return (201, call.body, {}) if ok else (400, {"error": "POST a review"}, {})
        if call.path == TOKEN:
            return _token(call, simulator)
        found = REVIEW.match(call.path)
        if not found:
            return None
        if not call.headers.get("authorization", "").startswith("Bearer "):
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, {}
        review_id = found["id"]
        if found["reply"] and call.method == "DELETE":
            return 200, {}, {}
        if found["reply"] and call.method == "PUT":
            comment = call.body.get("comment") if isinstance(call.body, dict) else None
            if not isinstance(comment, str) or not comment or len(comment) > 4096:
                return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}}, {}
            return 200, {"comment": comment, "updateTime": "2026-11-30T10:05:00Z"}, {}
        if not found["reply"] and call.method == "GET":
            return 200, _review(simulator, review_id), {}
        return 405, {"error": {"code": 405, "status": "METHOD_NOT_ALLOWED"}}, {}


def _token(call: Call, simulator: Simulator) -> Answer:
    """Google's token endpoint, for the refresh flow: a form with grant_type=refresh_token. The refresh token
    "revoked" is refused as Google refuses one the user revoked."""
    form = call.body if isinstance(call.body, dict) else {}
    if call.method != "POST" or form.get("grant_type") != "refresh_token":
        return 400, {"error": "unsupported_grant_type"}, {}
    if not form.get("client_id") or not form.get("client_secret"):
        return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}, {}
    if not form.get("refresh_token") or form.get("refresh_token") == "revoked":
        return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, {}
    token = {
        "access_token": f"ya29.simulated-{simulator.next_id()}",
        "expires_in": 3599,
        "scope": "https://www.googleapis.com/auth/business.manage",
        "token_type": "Bearer",
    }
    return 200, token, {}


def _review(simulator: Simulator, review_id: str) -> dict[str, Any]:
    added = [
        c.body
        for c in ok_calls(simulator, "POST", lambda path: path == ADD)
        if c.body["reviewId"] == review_id
    ]
    review = (
        added[-1] if added else payloads.review(review_id, "The laces broke after a week.", "Dana Reviewer")
    )
    replies = [
        c.body for c in ok_calls(simulator, "PUT", lambda path: path.endswith(f"/reviews/{review_id}/reply"))
    ]
    return {**review, "reviewReply": {"comment": replies[-1]["comment"]}} if replies else review
