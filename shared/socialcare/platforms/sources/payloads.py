"""Standard Webhooks payloads, as a source sends them: used by the tests and `socialcare simulate`."""

import json
import time
import uuid
from typing import Any

from socialcare.platforms.sources.webhook import sign_headers


def mention_created(
    item_id: str = "rev-1",
    text: str = "Two stars: the parcel came open",
    *,
    handle: str | None = "bea",
    name: str | None = "Bea Buyer",
    url: str | None = None,
    author_url: str | None = None,
    created_at: str = "2024-05-01T10:00:00Z",
    in_reply_to: str | None = None,
) -> dict[str, Any]:
    author = {key: value for key, value in (("name", name), ("handle", handle), ("url", author_url)) if value}
    data: dict[str, Any] = {"id": item_id, "text": text, "author": author, "created_at": created_at}
    if url:
        data["url"] = url
    data["in_reply_to"] = in_reply_to
    return {"type": "mention.created", "data": data}


def signed(
    payload: dict[str, Any], secret: str, *, webhook_id: str | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = sign_headers(
        secret,
        body,
        webhook_id or f"msg_{uuid.uuid4().hex}",
        int(time.time()) if timestamp is None else timestamp,
    )
    return body, {"content-type": "application/json", **headers}
