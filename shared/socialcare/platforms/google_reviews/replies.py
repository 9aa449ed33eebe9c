"""Reading a review and answering it through the Business Profile API: `GET .../reviews/{id}`,
`PUT .../reviews/{id}/reply` with `{"comment": ...}` (one reply per review; a second PUT replaces it) and
`DELETE .../reviews/{id}/reply` (an agent's UNDO). Every call carries the access token of `oauth`."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from socialcare.platforms.base import (
    NeedsConfiguration,
    PermanentFailure,
    PostContext,
    PostResult,
    ReplyTarget,
)
from socialcare.platforms.google_reviews import oauth
from socialcare.platforms.google_reviews.config import GoogleReviewsConfig
from socialcare.platforms.http import PlatformClient


class _Api:
    """One post, look-up or read: the client, with the access token redacted from every reason."""

    def __init__(self, platform: str, context: PostContext, google: GoogleReviewsConfig) -> None:
        self.google = google
        self.token = oauth.access_token(google, context)
        secrets = [self.token, google.client_secret, google.refresh_token]
        self.client = PlatformClient(platform, context, secrets)

    def request(self, method: str, url: str, **kwargs: Any) -> Mapping[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            return self.client.request(method, url, headers=headers, **kwargs)
        except NeedsConfiguration:
            # A refreshed token Google no longer takes (revoked early): the next attempt gets a new one.
            if self.google.refreshes:
                oauth.forget_tokens()
            raise


def review_url(google: GoogleReviewsConfig, review_name: str) -> str:
    return f"{google.api_base.rstrip('/')}/{review_name}"


def _name(target: ReplyTarget) -> str:
    name = target.refs.get("review", "")
    if not name:
        raise NeedsConfiguration("the review's name is missing from the mention", "bad_target")
    return name


def post(target: ReplyTarget, text: str, context: PostContext, google: GoogleReviewsConfig) -> PostResult:
    url = f"{review_url(google, _name(target))}/reply"
    _Api(target.platform, context, google).request("PUT", url, json_body={"comment": text})
    return PostResult(reply_id(target.external_id))  # a review has one reply: it has no id of its own


def reply_id(review_id: str) -> str:
    return f"{review_id}.reply"


def delete(review_name: str, context: PostContext, google: GoogleReviewsConfig) -> None:
    """Take the review's reply down (an agent's UNDO): `DELETE .../reviews/{id}/reply`."""
    if not review_name:
        raise PermanentFailure("the review's name is missing from the mention", "bad_target")
    _Api("google", context, google).request("DELETE", f"{review_url(google, review_name)}/reply")


def find(
    target: ReplyTarget, text: str, since: datetime, context: PostContext, google: GoogleReviewsConfig
) -> str | None:
    review = _Api(target.platform, context, google).request("GET", review_url(google, _name(target)))
    reply = review.get("reviewReply")
    said = reply.get("comment") if isinstance(reply, Mapping) else None
    return (
        reply_id(target.external_id)
        if isinstance(said, str) and " ".join(text.split()) in " ".join(said.split())
        else None
    )


def fetch_review(review_name: str, google: GoogleReviewsConfig, context: PostContext) -> dict[str, Any]:
    """The review as a text fetcher's answer: text (stars and comment), reviewer, time."""
    review = _Api("google", context, google).request("GET", review_url(google, review_name))
    found = review.get("reviewer")
    reviewer: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    stars = STARS.get(str(review.get("starRating")), "")
    comment = str(review.get("comment") or "")
    return {
        "text": f"{stars} {comment}".strip(),
        "username": reviewer.get("displayName") or None,
        "timestamp": review.get("updateTime") or review.get("createTime"),
    }


STARS = {"ONE": "★☆☆☆☆", "TWO": "★★☆☆☆", "THREE": "★★★☆☆", "FOUR": "★★★★☆", "FIVE": "★★★★★"}
