"""Bodies and signed headers for the Meta and Standard Webhooks endpoints, as the platforms send them (the
development configuration's secrets), shared by the in-process, fuzz and over-HTTP tests."""

import time
import uuid
from typing import Any

from socialcare.platforms import sources as standard_webhooks
from socialcare.platforms.meta import payloads
from socialcare.platforms.sources import payloads as source_payloads
from socialcare.signatures import sha256_hex
from tests.conftest import DEV_CONFIG

META = DEV_CONFIG["meta"]
PAGE_ID = META["page_id"]
IG_USER_ID = META["ig_user_id"]
REVIEWS_SECRET = DEV_CONFIG["sources"]["reviews"]["secret"]
T0 = payloads.T0
CUSTOMER = "7000000042"


# ---------------------------------------------------------------- Meta (the platform package's builders)
def meta_headers(body: bytes, secret: str = META["app_secret"]) -> dict[str, str]:
    return {"content-type": "application/json", "x-hub-signature-256": sha256_hex(secret, body)}


def meta_body(payload: dict[str, Any]) -> bytes:
    return payloads.signed(payload, META["app_secret"])[0]


def page_delivery(*values: dict[str, Any], entry_id: str = PAGE_ID) -> dict[str, Any]:
    return payloads.page_delivery(*values, entry_id=entry_id)


def page_comment(
    comment_id: str = "P1_C1",
    message: str = "Where is my order?",
    verb: str = "add",
    post_id: str = "P1",
    parent_id: str | None = None,
    author_id: str = CUSTOMER,
    author_name: str = "Ana Cliente",
) -> dict[str, Any]:
    return payloads.page_comment(comment_id, message, verb, post_id, parent_id, author_id, author_name)


page_post = payloads.page_post
instagram_comment = payloads.instagram_comment


def instagram_delivery(field: str, value: dict[str, Any], entry_id: str = IG_USER_ID) -> dict[str, Any]:
    return payloads.instagram_delivery(field, value, entry_id=entry_id)


def messaging_delivery(obj: str, *items: dict[str, Any], entry_id: str = PAGE_ID) -> dict[str, Any]:
    return payloads.messaging_delivery(obj, *items, entry_id=entry_id)


def direct_message(mid: str = "m_1", text: str = "Hi, help please", echo: bool = False) -> dict[str, Any]:
    return payloads.direct_message(mid, text, echo, page_id=PAGE_ID, customer_id=CUSTOMER)


# ---------------------------------------------------------------- Standard Webhooks
def review(
    review_id: str = "rev-1",
    text: str = "Two stars: the parcel came open",
    in_reply_to: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    payload = source_payloads.mention_created(
        review_id,
        text,
        url=f"https://reviews.example/r/{review_id}",
        author_url="https://reviews.example/u/bea",
        in_reply_to=in_reply_to,
    )
    payload["data"].update(data)
    return payload


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
