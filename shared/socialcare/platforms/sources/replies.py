"""Posting the brand's answer to a Standard Webhooks source: a signed `reply.created` to its reply URL.

Every attempt of one reply carries the same `webhook-id` (derived from the reply's own id), so the source
drops repeats the way we drop its resent deliveries: posting again after an unknown outcome is safe."""

import hashlib
import json
import uuid
from datetime import UTC, datetime

from socialcare.platforms.base import (
    NeedsConfiguration,
    PermanentFailure,
    PostContext,
    PostResult,
    ReplyTarget,
)
from socialcare.platforms.http import PlatformClient
from socialcare.platforms.sources.config import SourceConfig
from socialcare.platforms.sources.webhook import delete_event, sign_headers


def message_id_for(idempotency_key: str | None) -> str:
    if not idempotency_key:
        return f"msg_{uuid.uuid4().hex}"
    return f"msg_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"


def post(target: ReplyTarget, text: str, context: PostContext, source: SourceConfig | None) -> PostResult:
    if source is None:
        raise NeedsConfiguration(f"source {target.platform!r} is not configured")
    url = target.reply_url or source.reply_url
    if not url:
        raise NeedsConfiguration(f"source {target.platform!r} has no reply_url")
    timestamp = int(context.now())
    created_at = datetime.fromtimestamp(timestamp, UTC).isoformat()
    data = {"in_reply_to": target.external_id, "text": text, "created_at": created_at}
    if target.survey_url:
        data["survey_url"] = target.survey_url
    payload = {"type": "reply.created", "timestamp": created_at, "data": data}
    body = json.dumps(payload, separators=(",", ":")).encode()
    message_id = message_id_for(context.idempotency_key)
    headers = {"Content-Type": "application/json", **sign_headers(source.secret, body, message_id, timestamp)}
    answer = PlatformClient(target.platform, context, [source.secret]).post(url, headers=headers, data=body)
    reply_id = answer.get("id")
    return PostResult(str(reply_id) if isinstance(reply_id, str | int) and reply_id != "" else message_id)


def delete(reply_id: str, platform: str, context: PostContext, source: SourceConfig | None) -> None:
    """Tell the source to take our reply down (an agent's UNDO): a signed `reply.deleted` to its reply URL."""
    if source is None or not source.reply_url:
        raise PermanentFailure(f"source {platform!r} has no reply_url", "not_configured")
    timestamp = int(context.now())
    event = delete_event(reply_id, datetime.fromtimestamp(timestamp, UTC))
    body = json.dumps(event, separators=(",", ":")).encode()
    signed = sign_headers(source.secret, body, f"msg_{uuid.uuid4().hex}", timestamp)
    headers = {"Content-Type": "application/json", **signed}
    PlatformClient(platform, context, [source.secret]).post(source.reply_url, headers=headers, data=body)
