"""Posting the brand's answers on X (a reply post, or a direct message), X's error answers, and the look-up
of an answer whose outcome is unknown (the brand's recent posts, or the DM conversation's events)."""

import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from socialcare.models import MentionKind
from socialcare.platforms.base import (
    NeedsConfiguration,
    PermanentFailure,
    PostContext,
    PostResult,
    ReplyTarget,
    RetryLater,
)
from socialcare.platforms.http import PlatformClient, error_detail, number, required_id, retry_after_header
from socialcare.platforms.x.config import XConfig
from socialcare.platforms.x.webhook import delete_request

NAME = "x"
CLOCK_SKEW = timedelta(minutes=2)  # between our clock and X's created_at


def client(context: PostContext, x: XConfig) -> PlatformClient:
    secrets = [x.bearer_token, x.consumer_secret, x.oauth2_client_secret]
    return PlatformClient(NAME, context, secrets, _refusal)


def _headers(x: XConfig) -> dict[str, str]:
    if not x.bearer_token:
        raise NeedsConfiguration("x.bearer_token is not configured")
    return {"Authorization": f"Bearer {x.bearer_token}"}


def post(target: ReplyTarget, text: str, context: PostContext, x: XConfig) -> PostResult:
    headers = _headers(x)
    calls = client(context, x)
    if target.kind == MentionKind.DIRECT_MESSAGE:
        if not target.author_id:
            raise PermanentFailure("an X direct message reply needs the author's id", "bad_target")
        url = f"{x.api_base}/2/dm_conversations/with/{target.author_id}/messages"
        data = _data(calls.post(url, headers=headers, json_body={"text": text}))
        return PostResult(required_id(data, "dm_event_id", NAME))
    body = {"text": text, "reply": {"in_reply_to_tweet_id": target.external_id}}
    data = _data(calls.post(f"{x.api_base}/2/tweets", headers=headers, json_body=body))
    return PostResult(required_id(data, "id", NAME))


def find(target: ReplyTarget, text: str, since: datetime, context: PostContext, x: XConfig) -> str | None:
    """Our answer to `target` with `text` among what X has since `since`, or None."""
    headers = _headers(x)
    calls = client(context, x)
    start = (since - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
    wanted = _normalized(text)
    if target.kind == MentionKind.DIRECT_MESSAGE:
        url = f"{x.api_base}/2/dm_conversations/with/{target.author_id}/dm_events"
        params = {"dm_event.fields": "sender_id,text,created_at", "event_types": "MessageCreate"}
        for event in _list(calls.get(url, headers=headers, params=params)):
            if event.get("sender_id") == x.brand_user_id and wanted in _normalized(
                str(event.get("text", ""))
            ):
                return str(event["id"])
        return None
    if not x.brand_user_id:
        raise NeedsConfiguration("x.brand_user_id is not configured")
    url = f"{x.api_base}/2/users/{x.brand_user_id}/tweets"
    params = {"start_time": start, "tweet.fields": "referenced_tweets,created_at", "max_results": "100"}
    for post_ in _list(calls.get(url, headers=headers, params=params)):
        replied_to = {
            str(ref.get("id"))
            for ref in post_.get("referenced_tweets") or []
            if isinstance(ref, Mapping) and ref.get("type") == "replied_to"
        }
        # X puts the @handles it adds in front of the text: ours is contained, not equal.
        if target.external_id in replied_to and wanted in _normalized(str(post_.get("text", ""))):
            return str(post_["id"])
    return None


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _data(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    data = answer.get("data")
    if not isinstance(data, Mapping):
        raise PermanentFailure(f"{NAME} answered without a data object", "bad_answer")
    return data


def _list(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = answer.get("data")
    return (
        [item for item in data if isinstance(item, Mapping) and "id" in item]
        if isinstance(data, list)
        else []
    )


def _refusal(calls: PlatformClient, response: requests.Response, answer: Mapping[str, Any]) -> None:
    status = response.status_code
    reason = calls.reason(f"{NAME}: {_WORDS.get(status, f'refused ({status})')}", error_detail(answer))
    if status == 429:
        raise RetryLater(reason, _retry_after(calls.context, response))
    if status == 401:
        raise NeedsConfiguration(reason, "x_401")
    if status == 404:
        raise PermanentFailure(reason, "x_404")
    if status in (400, 403):
        # Too long, duplicate content, replying to a deleted or protected post, DMs closed.
        raise PermanentFailure(reason, f"x_{status}")


_WORDS = {429: "rate limited", 401: "not authorized", 404: "the post or user is gone"}


def _retry_after(context: PostContext, response: requests.Response) -> float | None:
    headers = response.headers
    # A user's 24-hour posting cap has its own reset, far later than the 15-minute window's.
    if headers.get("x-user-limit-24hour-remaining") == "0":
        reset = number(headers.get("x-user-limit-24hour-reset"))
    else:
        reset = number(headers.get("x-rate-limit-reset"))
    if reset is None:
        return retry_after_header(response)
    return max(0.0, reset - context.now())


def delete(post_id: str, kind: MentionKind, context: PostContext, x: XConfig) -> None:
    """Take our post down (an agent's UNDO): `DELETE /2/tweets/:id` with the token that posted it."""
    try:
        method, url, headers = delete_request(post_id, kind, x)
    except ValueError as refused:
        raise PermanentFailure(str(refused), "not_deletable") from None
    client(context, x).request(method, url, headers=headers)
