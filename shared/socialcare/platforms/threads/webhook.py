"""Threads webhooks: the subscription check and the signature are Meta's (`hub.*` query, `x-hub-signature-256`
over the raw bytes with the Threads app's secret), but the payload is Threads' own: one
`{app_id, topic, target_id, time, values: {field, value: {id, username, text, replied_to, root_post, ...}}}`
per POST, not Graph's `entry[]`."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ConfigDict, Field

from socialcare.errors import MalformedPayload
from socialcare.modeling import Model
from socialcare.models import Author, Delivery, Mention, MentionKind, MentionStatus, utc_now
from socialcare.platforms import validate_payload
from socialcare.platforms.meta.hub import answer_subscription, check_signature
from socialcare.platforms.threads.config import ThreadsConfig

THREADS = "threads"
FIELDS = frozenset({"replies", "mentions"})  # the fields that carry a customer's words


def verify_subscription(query: Mapping[str, str], config: ThreadsConfig) -> str:
    """Answer the `hub.mode=subscribe` check: returns the challenge to echo back as plain text."""
    return answer_subscription(query, config.verify_token, THREADS)


def verify_signature(raw_body: bytes, headers: Mapping[str, str], config: ThreadsConfig) -> None:
    check_signature(raw_body, headers, config.app_secret, THREADS)


class _Shape(Model):
    model_config = ConfigDict(coerce_numbers_to_str=True)


class _Ref(_Shape):
    id: str
    owner_id: str | None = None
    username: str | None = None


class _Post(_Shape):
    id: str = Field(min_length=1)
    username: str = ""
    text: str = ""  # a reply with only media has none
    permalink: str | None = None
    timestamp: str | None = None
    replied_to: _Ref | None = None
    root_post: _Ref | None = None


class _Values(_Shape):
    field: str
    value: Any


def parse_delivery(payload: object, config: ThreadsConfig) -> Delivery:
    if not isinstance(payload, Mapping):
        raise MalformedPayload("the body must be a JSON object")
    values = payload.get("values")
    # Documented as one object; a list is accepted too, so a batched delivery is not refused.
    items = values if isinstance(values, list) else [values]
    delivery = Delivery()
    for index, item in enumerate(items):
        where = "values" if not isinstance(values, list) else f"values[{index}]"
        change = validate_payload(_Values, item, where)
        if change.field not in FIELDS:
            delivery.ignored.append(f"field:{change.field}")  # publish, delete: nothing to answer
            continue
        post = validate_payload(_Post, change.value, f"{where}.value")
        delivery.mentions.append(_mention(post, change.field, config, change.value))
    return delivery


def _mention(post: _Post, field: str, config: ThreadsConfig, raw: dict[str, Any]) -> Mention:
    ours = bool(config.username) and post.username.lower() == config.username.lower()
    root = post.root_post.id if post.root_post else post.id
    return Mention(
        platform=THREADS,
        external_id=post.id,
        kind=MentionKind.COMMENT if field == "replies" else MentionKind.POST,
        author=Author(id=post.username, handle=post.username or None),
        text=post.text,
        url=post.permalink,
        created_at=_time(post.timestamp),
        thread_key=root,
        in_reply_to=post.replied_to.id if post.replied_to else None,
        is_ours=ours,
        status=MentionStatus.OURS if ours else MentionStatus.NEW,
        raw={**raw, "field": field},
    )


def _time(value: str | None) -> datetime:
    """Threads writes `2024-08-07T10:33:16+0000`; a missing or odd time is not worth refusing a customer."""
    if not value:
        return utc_now()
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as error:
            raise MalformedPayload(f"values.value.timestamp: {value[:32]!r} is not a time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
