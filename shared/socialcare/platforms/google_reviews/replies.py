"""Reading a review and answering it through the Business Profile API: `GET .../reviews/{id}` and
`PUT .../reviews/{id}/reply` with `{"comment": ...}` (one reply per review; a second PUT replaces it)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from socialcare.platforms.base import NeedsConfiguration, PostContext, PostResult, ReplyTarget
from socialcare.platforms.google_reviews.config import GoogleReviewsConfig
from socialcare.platforms.http import PlatformClient


def _client(platform: str, context: PostContext, google: GoogleReviewsConfig) -> PlatformClient:
    if not google.access_token:
        raise NeedsConfiguration("google_reviews.access_token is not configured")
    return PlatformClient(platform, context, [google.access_token])


def _auth(google: GoogleReviewsConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {google.access_token}"}


def review_url(google: GoogleReviewsConfig, review_name: str) -> str:
    return f"{google.api_base.rstrip('/')}/{review_name}"


def post(target: ReplyTarget, text: str, context: PostContext, google: GoogleReviewsConfig) -> PostResult:
    name = target.refs.get("review", "")
    if not name:
        raise NeedsConfiguration("the review's name is missing from the mention", "bad_target")
    _client(target.platform, context, google).request(
        "PUT", f"{review_url(google, name)}/reply", headers=_auth(google), json_body={"comment": text}
    )
    return PostResult(f"{target.external_id}.reply")  # a review has one reply: it has no id of its own


def find(
    target: ReplyTarget, text: str, since: datetime, context: PostContext, google: GoogleReviewsConfig
) -> str | None:
    name = target.refs.get("review", "")
    review = _client(target.platform, context, google).get(review_url(google, name), headers=_auth(google))
    reply = review.get("reviewReply")
    said = reply.get("comment") if isinstance(reply, Mapping) else None
    return (
        f"{target.external_id}.reply"
        if isinstance(said, str) and " ".join(text.split()) in " ".join(said.split())
        else None
    )


def fetch_review(review_name: str, google: GoogleReviewsConfig, timeout: float) -> dict[str, Any]:
    """The review as a text fetcher's answer: text (stars and comment), reviewer, time."""
    import requests

    if not google.access_token:
        raise NeedsConfiguration("google_reviews.access_token is not configured")
    response = requests.get(review_url(google, review_name), headers=_auth(google), timeout=timeout)
    if response.status_code != 200:
        raise RuntimeError(f"google review fetch answered {response.status_code}")
    review = response.json()
    reviewer = review.get("reviewer") if isinstance(review.get("reviewer"), dict) else {}
    stars = STARS.get(str(review.get("starRating")), "")
    comment = str(review.get("comment") or "")
    return {
        "text": f"{stars} {comment}".strip(),
        "username": reviewer.get("displayName") or None,
        "timestamp": review.get("updateTime") or review.get("createTime"),
    }


STARS = {"ONE": "★☆☆☆☆", "TWO": "★★☆☆☆", "THREE": "★★★☆☆", "FOUR": "★★★★☆", "FIVE": "★★★★★"}
