"""X's Account Activity payloads, one builder per event shape, as X sends them: used by the unit and
integration tests, `socialcare simulate` and the benchmarks, so a shape is written once."""

import json
from typing import Any

from socialcare.signatures import sha256_base64

CREATED_AT = "Wed Oct 10 20:19:24 +0000 2018"  # X's date format


def tweet(
    tweet_id: str = "1850000000000000001",
    text: str = "@brand my order is late",
    user_id: str = "42",
    screen_name: str = "alice",
    **extra: Any,
) -> dict[str, Any]:
    """A v1.1 tweet object (`tweet_create_events`); `extra` overrides or adds fields."""
    return {
        "id_str": tweet_id,
        "text": text,
        "truncated": False,
        "created_at": CREATED_AT,
        "in_reply_to_status_id_str": None,
        "user": {
            "id_str": user_id,
            "screen_name": screen_name,
            "name": extra.pop("name", None) or screen_name.title(),
            "followers_count": extra.pop("followers_count", 10),
            "verified": False,
        },
        **extra,
    }


def direct_message(
    event_id: str, sender_id: str, recipient_id: str, text: str, created_ms: int = 1_700_000_000_000
) -> dict[str, Any]:
    """One `direct_message_events` item."""
    return {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": str(created_ms),
        "message_create": {
            "sender_id": sender_id,
            "target": {"recipient_id": recipient_id},
            "message_data": {"text": text},
        },
    }


def dm_user(user_id: str, screen_name: str, name: str | None = None) -> dict[str, Any]:
    """A `users` map entry of a DM delivery: X names the id `id` (a string) there, not `id_str`."""
    return {"id": user_id, "name": name or screen_name.title(), "screen_name": screen_name}


def delivery(
    for_user_id: str,
    *,
    tweets: list[dict[str, Any]] | None = None,
    direct_messages: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"for_user_id": for_user_id}
    if tweets is not None:
        payload["tweet_create_events"] = tweets
    if direct_messages is not None:
        payload["direct_message_events"] = direct_messages
        payload["users"] = {user["id"]: user for user in users or []}
    return payload


def activity_event(
    post_id: str = "1850000000000000001",
    text: str = "@brand my order is late",
    user_id: str = "42",
    username: str = "alice",
    *,
    event_type: str = "post.mention.create",
    brand_user_id: str = "1000000001",
    created_at: str = "2018-10-10T20:19:24.000Z",
    replied_to: str | None = None,
) -> dict[str, Any]:
    """An X Activity API delivery: one event, its v2 post as `payload`, its author in `includes.users`."""
    post: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "author_id": user_id,
        "conversation_id": replied_to or post_id,
        "created_at": created_at,
        "entities": {"mentions": [{"id": brand_user_id, "username": "brand"}]},
    }
    if replied_to:
        post["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
    return {
        "data": {
            "event_uuid": f"evt-{post_id}",
            "filter": {"user_id": brand_user_id},
            "event_type": event_type,
            "tag": "brand mentions",
            "payload": post,
            "includes": {"users": [{"id": user_id, "username": username, "name": username.title()}]},
        }
    }


def signed(
    payload: dict[str, Any], consumer_secret: str, oauth2_secret: str = ""
) -> tuple[bytes, dict[str, str]]:
    """The body and the headers X sends it with."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "content-type": "application/json",
        "x-twitter-webhooks-signature": sha256_base64(consumer_secret, body),
    }
    if oauth2_secret:
        headers["x-twitter-webhooks-signature-oauth2"] = sha256_base64(oauth2_secret, body)
    return body, headers
