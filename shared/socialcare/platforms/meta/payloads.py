"""Meta's webhook payloads, one builder per event shape, as Meta sends them: used by the unit and
integration tests, `socialcare simulate` and the benchmarks, so a shape is written once."""

import json
from typing import Any

from socialcare.signatures import sha256_hex

T0 = 1_700_000_000


def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    """As Meta sends it: non-ASCII characters \\u-escaped (json.dumps' default), signed over those bytes."""
    body = json.dumps(payload).encode()
    return body, {"content-type": "application/json", "x-hub-signature-256": sha256_hex(app_secret, body)}


def page_delivery(*values: dict[str, Any], entry_id: str, time: int = T0 + 5) -> dict[str, Any]:
    changes = [{"field": "feed", "value": value} for value in values]
    return {"object": "page", "entry": [{"id": entry_id, "time": time, "changes": changes}]}


def page_comment(
    comment_id: str = "P1_C1",
    message: str = "Where is my order?",
    verb: str = "add",
    post_id: str = "P1",
    parent_id: str | None = None,
    author_id: str = "7000000042",
    author_name: str = "Ana Cliente",
    created_time: int = T0,
) -> dict[str, Any]:
    return {
        "item": "comment",
        "verb": verb,
        "comment_id": comment_id,
        "post_id": post_id,
        "parent_id": parent_id or post_id,
        "from": {"id": author_id, "name": author_name},
        "message": message,
        "created_time": created_time,
    }


def page_post(
    post_id: str = "P9",
    message: str = "Your store was closed today",
    item: str = "status",
    author_id: str = "7000000042",
    author_name: str = "Ana Cliente",
) -> dict[str, Any]:
    return {
        "item": item,
        "verb": "add",
        "post_id": post_id,
        "from": {"id": author_id, "name": author_name},
        "message": message,
        "created_time": T0,
    }


def page_mention(
    item: str = "comment", post_id: str = "P9", comment_id: str | None = "P9_C1", verb: str = "add"
) -> dict[str, Any]:
    """A Page `mention` change's value: someone tagged the Page in a post or a comment (ids only)."""
    value = {"item": item, "verb": verb, "post_id": post_id}
    return {**value, "comment_id": comment_id} if comment_id else value


def page_mention_delivery(*values: dict[str, Any], entry_id: str, time: int = T0 + 5) -> dict[str, Any]:
    changes = [{"field": "mention", "value": value} for value in values]
    return {"object": "page", "entry": [{"id": entry_id, "time": time, "changes": changes}]}


def instagram_delivery(field: str, value: dict[str, Any], *, entry_id: str, time: int = T0) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [{"id": entry_id, "time": time, "changes": [{"field": field, "value": value}]}],
    }


def instagram_comment(
    comment_id: str = "IGC1",
    text: str = "Love it @brand",
    *,
    author_id: str = "IGS9",
    username: str = "ana.cliente",
    media_id: str = "MEDIA1",
    **overrides: Any,
) -> dict[str, Any]:
    return {
        "id": comment_id,
        "text": text,
        "from": {"id": author_id, "username": username},
        "media": {"id": media_id, "media_product_type": "FEED"},
        **overrides,
    }


def messaging_delivery(
    obj: str, *items: dict[str, Any], entry_id: str, time: int = T0 * 1000
) -> dict[str, Any]:
    """Messenger (`obj` "page") or Instagram (`obj` "instagram") direct messages."""
    return {"object": obj, "entry": [{"id": entry_id, "time": time, "messaging": list(items)}]}


def direct_message(
    mid: str = "m_1",
    text: str = "Hi, help please",
    echo: bool = False,
    *,
    page_id: str,
    customer_id: str = "7000000042",
    timestamp: int = T0 * 1000 + 250,
) -> dict[str, Any]:
    sender, recipient = (page_id, customer_id) if echo else (customer_id, page_id)
    message: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp,
        "message": message,
    }
