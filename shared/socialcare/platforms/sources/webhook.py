"""Standard Webhooks (standardwebhooks.com): how any other source (a blog, a review site, a forum) sends us
mentions, and how we sign what we send to such sources.

A source is named in the configuration, and its name is the mentions' platform. The timestamp is signed and
checked against our clock, so a captured request cannot be replayed later; the webhook-id is the same on every
retry, and is kept in `raw` to trace a mention back to its delivery."""

import binascii
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from socialcare.errors import InvalidSignature, MalformedPayload, NotConfigured
from socialcare.modeling import Model
from socialcare.models import Author, Delivery, Mention, MentionKind, MentionStatus, Tombstone
from socialcare.platforms import validate_payload
from socialcare.signatures import matches, standard_webhooks_signature

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE_S = 300


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Raises InvalidSignature unless one of the v1 signatures matches and the timestamp is recent."""
    if not secret:
        raise NotConfigured("the source's secret is not configured")
    message_id = headers.get(ID_HEADER, "")
    timestamp_text = headers.get(TIMESTAMP_HEADER, "")
    signatures = headers.get(SIGNATURE_HEADER, "")
    named = ((ID_HEADER, message_id), (TIMESTAMP_HEADER, timestamp_text), (SIGNATURE_HEADER, signatures))
    missing = [name for name, value in named if not value]
    if missing:
        raise InvalidSignature(f"missing {' and '.join(missing)} header")
    if not (timestamp_text.isascii() and timestamp_text.isdigit() and len(timestamp_text) <= 12):
        raise InvalidSignature(f"{TIMESTAMP_HEADER} must be an integer (unix seconds)")
    timestamp = int(timestamp_text)
    skew = (time.time() if now is None else now) - timestamp
    if skew > tolerance_s:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is too old ({int(skew)} s, more than {tolerance_s} s)")
    if -skew > tolerance_s:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is in the future ({int(-skew)} s ahead)")
    try:
        expected = standard_webhooks_signature(secret, message_id, timestamp, raw_body)
    except (binascii.Error, ValueError) as error:
        raise NotConfigured("the source's secret is not whsec_ followed by base64") from error
    # Several signatures come during a key rotation; other versions (v1a: asymmetric) are not ours to check.
    candidates = [entry for entry in signatures.split() if entry.startswith("v1,")]
    if not any(matches(expected, candidate) for candidate in candidates):
        raise InvalidSignature(f"no v1 signature in {SIGNATURE_HEADER} matches")


def sign_headers(secret: str, body: bytes, message_id: str, timestamp: int) -> dict[str, str]:
    """The headers that make `body` a signed Standard Webhooks request (our replies, the simulator)."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: standard_webhooks_signature(secret, message_id, timestamp, body),
    }


# ---------------------------------------------------------------- payload shapes
class _Envelope(Model):
    type: str
    data: Any = None


class _Author(Model):
    name: str | None = None
    handle: str | None = None
    url: str | None = None


class _MentionData(Model):
    id: str = Field(min_length=1)
    url: str | None = None
    text: str
    author: _Author
    created_at: datetime
    in_reply_to: str | None = None


class _Deleted(Model):
    id: str = Field(min_length=1)


def parse_delivery(source: str, payload: object, message_id: str) -> Delivery:
    if not isinstance(payload, Mapping):
        raise MalformedPayload("the body must be a JSON object")
    envelope = validate_payload(_Envelope, payload, "")
    if envelope.type == "mention.created":
        data = validate_payload(_MentionData, envelope.data, "data")
        return Delivery(mentions=[_mention(source, data, envelope.data, message_id)])
    if envelope.type == "mention.deleted":
        deleted = validate_payload(_Deleted, envelope.data, "data")
        return Delivery(
            tombstones=[Tombstone(platform=source, external_id=deleted.id, status=MentionStatus.DELETED)]
        )
    # Event types a source may add later are acknowledged, so it does not retry them.
    return Delivery(ignored=[envelope.type])


def _mention(source: str, data: _MentionData, raw: dict[str, Any], message_id: str) -> Mention:
    author_id = data.author.handle or data.author.name
    if not author_id:
        raise MalformedPayload("data.author: needs a handle or a name")
    created_at = data.created_at if data.created_at.tzinfo else data.created_at.replace(tzinfo=UTC)
    return Mention(
        platform=source,
        external_id=data.id,
        kind=MentionKind.REVIEW,
        author=Author(id=author_id, handle=data.author.handle, name=data.author.name, url=data.author.url),
        text=data.text,
        url=data.url,
        created_at=created_at,
        thread_key=data.in_reply_to or data.id,
        in_reply_to=data.in_reply_to,
        raw={**raw, "webhook_id": message_id},
    )


# ---------------------------------------------------------------- deleting our reply (an agent's UNDO)
def delete_event(reply_id: str, now: datetime) -> dict[str, Any]:
    """The signed event that tells a source to take a reply down (POSTed to its reply_url, like a reply)."""
    return {"type": "reply.deleted", "timestamp": now.isoformat(), "data": {"id": reply_id}}
