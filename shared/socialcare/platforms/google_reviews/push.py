"""A Pub/Sub push from Google Business Profile: `{"message": {"data": <base64 JSON>, "messageId", ...},
"subscription"}`, the data naming the review (`{"type": "NEW_REVIEW" | "UPDATED_REVIEW", "review":
"accounts/{a}/locations/{l}/reviews/{r}", "location": ...}`). The review's words are read from the API
afterwards (the adapter's text fetcher), as the push carries names only."""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from socialcare.errors import MalformedPayload
from socialcare.models import Author, Delivery, Mention, MentionKind, utc_now

GOOGLE = "google"
REVIEW_TYPES = frozenset({"NEW_REVIEW", "UPDATED_REVIEW"})
REVIEW_NAME = re.compile(r"^accounts/[^/]+/locations/[^/]+/reviews/(?P<id>[A-Za-z0-9_-]+)$")


def message_data(payload: object) -> dict[str, Any]:
    message = payload.get("message") if isinstance(payload, Mapping) else None
    if not isinstance(message, Mapping) or not isinstance(message.get("data"), str):
        raise MalformedPayload("message.data is required")
    try:
        data = json.loads(base64.b64decode(message["data"], validate=True))
    except (binascii.Error, ValueError) as error:
        raise MalformedPayload("message.data is not base64 JSON") from error
    if not isinstance(data, dict):
        raise MalformedPayload("message.data must be a JSON object")
    return data


def parse_push(payload: object) -> Delivery:
    data = message_data(payload)
    kind = data.get("type")
    if kind not in REVIEW_TYPES:
        return Delivery(ignored=[f"type:{kind}"])  # answers to questions, media: not reviews
    name = data.get("review")
    found = REVIEW_NAME.match(name) if isinstance(name, str) else None
    if found is None:
        raise MalformedPayload("message.data.review must be accounts/*/locations/*/reviews/*")
    review_id = found["id"]
    # An update of a review already stored is a duplicate of it: ingest keeps the first.
    return Delivery(
        mentions=[
            Mention(
                platform=GOOGLE,
                external_id=review_id,
                kind=MentionKind.REVIEW,
                author=Author(id=""),
                text="",
                created_at=utc_now(),
                thread_key=review_id,
                # reply_refs: what the reply sender keeps of raw (data.replies.mention_for_reply).
                raw={"reply_refs": {"review": name}, "type": kind, "needs_text": True},
            )
        ]
    )


def delivery_id(body: bytes) -> str | None:
    """Pub/Sub keeps messageId on every redelivery of one message."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    message = payload.get("message") if isinstance(payload, dict) else None
    message_id = message.get("messageId") if isinstance(message, dict) else None
    return f"google-{message_id}" if isinstance(message_id, str) and message_id else None
