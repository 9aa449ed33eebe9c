"""Bodies and signed headers for the Meta and Standard Webhooks endpoints, as the platforms send them (the
development configuration's secrets), shared by the in-process, fuzz and over-HTTP tests."""

import json
import time
import uuid
from typing import Any

from socialcare.platforms import standard_webhooks
from socialcare.signatures import sha256_hex
from tests.conftest import DEV_CONFIG

META = DEV_CONFIG["meta"]
PAGE_ID = META["page_id"]
IG_USER_ID = META["ig_user_id"]
REVIEWS_SECRET = DEV_CONFIG["sources"]["reviews"]["secret"]
T0 = 1_700_000_000
CUSTOMER = "7000000042"


# ---------------------------------------------------------------- Meta
def meta_headers(body: bytes, secret: str = META["app_secret"]) -> dict[str, str]:
    return {"content-type": "application/json", "x-hub-signature-256": sha256_hex(secret, body)}


def meta_body(payload: dict[str, Any]) -> bytes:
    """As Meta sends it: non-ASCII characters \\u-escaped (json.dumps' default), signed over those bytes."""
    return json.dumps(payload).encode()


def page_delivery(*values: dict[str, Any], entry_id: str = PAGE_ID) -> dict[str, Any]:
    changes = [{"field": "feed", "value": value} for value in values]
    return {"object": "page", "entry": [{"id": entry_id, "time": T0 + 5, "changes": changes}]}


def page_comment(
    comment_id: str = "P1_C1",
    message: str = "Where is my order?",
    verb: str = "add",
    post_id: str = "P1",
    parent_id: str | None = None,
    author_id: str = CUSTOMER,
    author_name: str = "Ana Cliente",
) -> dict[str, Any]:
    return {
        "item": "comment",
        "verb": verb,
        "comment_id": comment_id,
        "post_id": post_id,
        "parent_id": parent_id or post_id,
        "from": {"id": author_id, "name": author_name},
        "message": message,
        "created_time": T0,
    }


def page_post(
    post_id: str = "P9", message: str = "Your store was closed today", item: str = "status"
) -> dict:
    return {
        "item": item,
        "verb": "add",
        "post_id": post_id,
        "from": {"id": CUSTOMER, "name": "Ana Cliente"},
        "message": message,
        "created_time": T0,
    }


def instagram_delivery(field: str, value: dict[str, Any], entry_id: str = IG_USER_ID) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [{"id": entry_id, "time": T0, "changes": [{"field": field, "value": value}]}],
    }


def instagram_comment(comment_id: str = "IGC1", text: str = "Love it @brand", **overrides: Any) -> dict:
    return {
        "id": comment_id,
        "text": text,
        "from": {"id": "IGS9", "username": "ana.cliente"},
        "media": {"id": "MEDIA1", "media_product_type": "FEED"},
        **overrides,
    }


def messaging_delivery(obj: str, *items: dict[str, Any], entry_id: str = PAGE_ID) -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": entry_id, "time": T0 * 1000, "messaging": list(items)}]}


def direct_message(mid: str = "m_1", text: str = "Hi, help please", echo: bool = False) -> dict[str, Any]:
    sender, recipient = (PAGE_ID, CUSTOMER) if echo else (CUSTOMER, PAGE_ID)
    message: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": T0 * 1000 + 250,
        "message": message,
    }


# ---------------------------------------------------------------- Standard Webhooks
def review(
    review_id: str = "rev-1",
    text: str = "Two stars: the parcel came open",
    in_reply_to: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    return {
        "type": "mention.created",
        "data": {
            "id": review_id,
            "url": f"https://reviews.example/r/{review_id}",
            "text": text,
            "author": {"name": "Bea Buyer", "handle": "bea", "url": "https://reviews.example/u/bea"},
            "created_at": "2024-05-01T10:00:00Z",
            "in_reply_to": in_reply_to,
            **data,
        },
    }


def source_headers(
    body: bytes,
    webhook_id: str | None = None,
    timestamp: int | None = None,
    secret: str = REVIEWS_SECRET,
) -> dict[str, str]:
    headers = standard_webhooks.sign_headers(
        secret,
        body,
        webhook_id or f"msg_{uuid.uuid4().hex}",
        int(time.time()) if timestamp is None else timestamp,
    )
    return {"content-type": "application/json", **headers}
