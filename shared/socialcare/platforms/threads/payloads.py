"""Threads' webhook payloads, as Threads sends them: shared by the tests, `socialcare simulate` and the
simulator, so the shape is written once."""

import json
from typing import Any

from socialcare.signatures import sha256_hex


def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"content-type": "application/json", "x-hub-signature-256": sha256_hex(app_secret, body)}


def reply(
    post_id: str = "18050000000000001",
    text: str = "@brand my shoes never came",
    username: str = "ana_customer",
    *,
    field: str = "replies",
    replied_to: str = "18040000000000001",
    root_id: str | None = None,
    root_owner: str = "brand",
    timestamp: str = "2026-11-30T10:33:16+0000",
    target_id: str = "9000000001",
) -> dict[str, Any]:
    """One `replies` (or `mentions`) delivery: the customer's post and what it answers."""
    return {
        "app_id": "123456",
        "topic": "moderate",
        "target_id": target_id,
        "time": 1_764_498_796,
        "subscription_id": "234567",
        "has_uid_field": False,
        "values": {
            "field": field,
            "value": {
                "id": post_id,
                "username": username,
                "text": text,
                "media_type": "TEXT_POST",
                "permalink": f"https://www.threads.net/@{username}/post/{post_id}",
                "replied_to": {"id": replied_to},
                "root_post": {"id": root_id or replied_to, "owner_id": target_id, "username": root_owner},
                "shortcode": post_id,
                "timestamp": timestamp,
            },
        },
    }
