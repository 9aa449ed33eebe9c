"""X (Twitter) Account Activity API: CRC answer, signature check and event parsing.

Envelopes are pluggable and recognised by shape: the Account Activity API's ({"for_user_id", ...}) and the X
Activity API's ({"data": {"event_type", ...}}), which X now recommends; both come to the same route."""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import Field

from socialcare.errors import InvalidSignature, MalformedPayload, NotConfigured
from socialcare.modeling import Model
from socialcare.models import Author, Delivery, Mention, MentionKind, MentionStatus, Tombstone
from socialcare.platforms import validate_payload
from socialcare.platforms.x.config import XConfig
from socialcare.signatures import matches, sha256_base64

PLATFORM = "x"
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
OAUTH2_SIGNATURE_HEADER = "x-twitter-webhooks-signature-oauth2"


# X's CRC tokens are short base64-like strings. The CRC answer is HMAC-SHA256(secret, token), the very
# signature X puts on a delivery body, so the endpoint must never sign anything that could be a body.
CRC_TOKEN = re.compile(r"^[A-Za-z0-9_=+/-]{1,128}$")


def is_crc_token(token: str) -> bool:
    """X's token shape, and never a JSON text (a bare number or true/false/null is JSON too)."""
    if not CRC_TOKEN.fullmatch(token):
        return False
    try:
        json.loads(token)
    except ValueError:
        return True
    return False


def crc_response(crc_token: str, config: XConfig) -> dict[str, str]:
    if not is_crc_token(crc_token):
        raise MalformedPayload("crc_token must be a short token of letters, digits and -_=+/")
    if not config.crc_secret:
        raise NotConfigured("x.consumer_secret is not configured")
    return {"response_token": sha256_base64(config.crc_secret, crc_token)}


def verify_signature(raw_body: bytes, headers: Mapping[str, str], config: XConfig) -> None:
    """Check the consumer-secret signature, and the OAuth 2.0 one whenever that secret is configured (then X
    sends it on every delivery; requiring it means a consumer-secret signature alone is never enough).
    Raises InvalidSignature."""
    if not config.consumer_secret:
        raise NotConfigured("x.consumer_secret is not configured")
    if not matches(sha256_base64(config.consumer_secret, raw_body), headers.get(SIGNATURE_HEADER)):
        raise InvalidSignature(f"missing or wrong {SIGNATURE_HEADER}")
    oauth2_signature = headers.get(OAUTH2_SIGNATURE_HEADER)
    if config.oauth2_client_secret:
        if not matches(sha256_base64(config.oauth2_client_secret, raw_body), oauth2_signature):
            raise InvalidSignature(f"missing or wrong {OAUTH2_SIGNATURE_HEADER}")
    elif oauth2_signature is not None:
        raise InvalidSignature(
            f"{OAUTH2_SIGNATURE_HEADER} sent, but x.oauth2_client_secret is not configured"
        )


# ---------------------------------------------------------------- v1.1 payload shapes (Account Activity API)
class _User(Model):
    id_str: str
    screen_name: str | None = None
    name: str | None = None
    followers_count: int | None = None
    verified: bool = False


class _DirectMessageUser(Model):
    """A user in a DM delivery's `users` map: X identifies them by `id` (a string); `id_str` may be there."""

    id: str | None = None
    id_str: str | None = None
    screen_name: str | None = None
    name: str | None = None
    followers_count: int | None = None
    verified: bool = False


class _ExtendedTweet(Model):
    full_text: str


class _Tweet(Model):
    id_str: str = Field(min_length=1)
    text: str = ""
    full_text: str | None = None
    truncated: bool = False
    extended_tweet: _ExtendedTweet | None = None
    created_at: str
    in_reply_to_status_id_str: str | None = None
    user: _User
    retweeted_status: dict[str, Any] | None = None
    quoted_status: dict[str, Any] | None = None
    user_has_blocked: bool | str | None = None

    @property
    def whole_text(self) -> str:
        if self.extended_tweet is not None:
            return self.extended_tweet.full_text
        return self.full_text or self.text


class _MessageData(Model):
    text: str = ""


class _Target(Model):
    recipient_id: str


class _MessageCreate(Model):
    sender_id: str
    target: _Target
    message_data: _MessageData


class _DirectMessageEvent(Model):
    type: str
    id: str = Field(min_length=1)
    created_timestamp: str
    message_create: _MessageCreate | None = None


def _blocked(value: object) -> bool:
    return value is True or str(value).lower() == "true"


def _tweet_time(created_at: str) -> datetime:
    try:
        return datetime.strptime(created_at, "%a %b %d %H:%M:%S %z %Y")
    except ValueError as error:
        raise MalformedPayload(f"tweet created_at {created_at!r} is not X's date format") from error


def _mention_from_tweet(tweet: _Tweet, brand_user_id: str, raw: dict[str, Any]) -> Mention:
    user = tweet.user
    ours = bool(brand_user_id) and user.id_str == brand_user_id
    return Mention(
        platform=PLATFORM,
        external_id=tweet.id_str,
        kind=MentionKind.POST,
        author=Author(
            id=user.id_str,
            handle=user.screen_name,
            name=user.name,
            url=f"https://x.com/{user.screen_name}" if user.screen_name else None,
            followers=user.followers_count,
            verified=user.verified,
        ),
        text=tweet.whole_text,
        url=f"https://x.com/{user.screen_name or 'i'}/status/{tweet.id_str}",
        created_at=_tweet_time(tweet.created_at),
        thread_key=tweet.in_reply_to_status_id_str or tweet.id_str,
        in_reply_to=tweet.in_reply_to_status_id_str,
        is_ours=ours,
        status=MentionStatus.OURS if ours else MentionStatus.NEW,
        raw=raw,
    )


def _mention_from_dm(
    event: _DirectMessageEvent, users: Mapping[str, Any], brand_user_id: str, raw: dict[str, Any]
) -> Mention | None:
    message = event.message_create
    if event.type != "message_create" or message is None:
        return None
    ours = bool(brand_user_id) and message.sender_id == brand_user_id
    customer_id = message.target.recipient_id if ours else message.sender_id
    sender = validate_payload(
        _DirectMessageUser, users.get(message.sender_id) or {}, f"users.{message.sender_id}"
    )
    try:
        created_at = datetime.fromtimestamp(int(event.created_timestamp) / 1000, UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise MalformedPayload("direct message created_timestamp is not a number") from error
    return Mention(
        platform=PLATFORM,
        external_id=event.id,
        kind=MentionKind.DIRECT_MESSAGE,
        author=Author(
            id=message.sender_id,
            handle=sender.screen_name,
            name=sender.name,
            followers=sender.followers_count,
            verified=sender.verified,
        ),
        text=message.message_data.text,
        created_at=created_at,
        thread_key=f"dm:{customer_id}",
        is_ours=ours,
        status=MentionStatus.OURS if ours else MentionStatus.NEW,
        raw=raw,
    )


class Envelope(Protocol):
    def accepts(self, payload: Mapping[str, Any]) -> bool: ...

    def parse(self, payload: Mapping[str, Any], config: XConfig) -> Delivery: ...


class AccountActivityEnvelope:
    """{"for_user_id": "...", "<event_type>": [...]}: the Account Activity API (v1.1 objects)."""

    def accepts(self, payload: Mapping[str, Any]) -> bool:
        return "for_user_id" in payload

    def parse(self, payload: Mapping[str, Any], config: XConfig) -> Delivery:
        brand_user_id = config.brand_user_id or str(payload.get("for_user_id", ""))
        delivery = Delivery()
        envelope_blocked = _blocked(payload.get("user_has_blocked"))
        for index, item in enumerate(_event_list(payload, "tweet_create_events")):
            tweet = validate_payload(_Tweet, item, f"tweet_create_events[{index}]")
            if tweet.retweeted_status is not None and tweet.quoted_status is None:
                delivery.ignored.append("retweet")
            elif envelope_blocked or _blocked(tweet.user_has_blocked):
                delivery.ignored.append("user_has_blocked")
            else:
                delivery.mentions.append(_mention_from_tweet(tweet, brand_user_id, item))
        users = payload.get("users") or {}
        if not isinstance(users, Mapping):
            raise MalformedPayload("users must be an object")
        for index, item in enumerate(_event_list(payload, "direct_message_events")):
            event = validate_payload(_DirectMessageEvent, item, f"direct_message_events[{index}]")
            mention = _mention_from_dm(event, users, brand_user_id, item)
            if mention is None:
                delivery.ignored.append(f"direct_message_events:{event.type}")
            else:
                delivery.mentions.append(mention)
        for item in _event_list(payload, "tweet_delete_events"):
            status = item.get("status") if isinstance(item, Mapping) else None
            if not isinstance(status, Mapping) or not status.get("id"):
                raise MalformedPayload("tweet_delete_events items need status.id")
            delivery.tombstones.append(
                Tombstone(platform=PLATFORM, external_id=str(status["id"]), status=MentionStatus.DELETED)
            )
        handled = {"for_user_id", "user_has_blocked", "users", "tweet_create_events", "direct_message_events"}
        delivery.ignored.extend(key for key in payload if key not in handled and key != "tweet_delete_events")
        return delivery


# ---------------------------------------------------------------- X Activity API (v2 objects)
# The events that are a customer talking to or about the brand; others (follows, likes, …) are acknowledged.
ACTIVITY_MENTION_EVENTS = frozenset({"post.mention.create", "post.reply.create", "post.quote.create"})


class _ActivityUser(Model):
    id: str = Field(min_length=1)
    username: str | None = None
    name: str | None = None
    verified: bool = False
    public_metrics: dict[str, Any] = Field(default_factory=dict)


class _Reference(Model):
    type: str
    id: str


class _ActivityPost(Model):
    id: str = Field(min_length=1)
    text: str = ""
    author_id: str = Field(min_length=1)
    created_at: datetime
    conversation_id: str | None = None
    referenced_tweets: list[_Reference] = Field(default_factory=list)


class _ActivityEvent(Model):
    event_type: str
    payload: Any = None
    includes: dict[str, Any] = Field(default_factory=dict)


class ActivityEnvelope:
    """{"data": {"event_type": "post.mention.create", "payload": <v2 post>, "includes": {"users": [...]}}}:
    the X Activity API, delivered to the same webhook (the same CRC and signature). A post is keyed on the
    same id as its Account Activity twin, so one mention arriving by both APIs is stored once."""

    def accepts(self, payload: Mapping[str, Any]) -> bool:
        data = payload.get("data")
        return isinstance(data, Mapping) and "event_type" in data

    def parse(self, payload: Mapping[str, Any], config: XConfig) -> Delivery:
        event = validate_payload(_ActivityEvent, payload["data"], "data")
        if event.event_type not in ACTIVITY_MENTION_EVENTS:
            return Delivery(ignored=[event.event_type])
        post = validate_payload(_ActivityPost, event.payload, "data.payload")
        includes = event.includes or payload.get("includes") or {}
        users = [validate_payload(_ActivityUser, u, "includes.users") for u in includes.get("users") or []]
        author = next((user for user in users if user.id == post.author_id), None)
        replied_to = next((ref.id for ref in post.referenced_tweets if ref.type == "replied_to"), None)
        ours = bool(config.brand_user_id) and post.author_id == config.brand_user_id
        handle = author.username if author else None
        created_at = post.created_at if post.created_at.tzinfo else post.created_at.replace(tzinfo=UTC)
        mention = Mention(
            platform=PLATFORM,
            external_id=post.id,
            kind=MentionKind.POST,
            author=Author(
                id=post.author_id,
                handle=handle,
                name=author.name if author else None,
                url=f"https://x.com/{handle}" if handle else None,
                followers=_followers(author),
                verified=bool(author and author.verified),
            ),
            text=post.text,
            url=f"https://x.com/{handle or 'i'}/status/{post.id}",
            created_at=created_at,
            thread_key=replied_to or post.id,
            in_reply_to=replied_to,
            is_ours=ours,
            status=MentionStatus.OURS if ours else MentionStatus.NEW,
            raw=dict(payload["data"]),
        )
        return Delivery(mentions=[mention])


def _followers(user: _ActivityUser | None) -> int | None:
    count = user.public_metrics.get("followers_count") if user else None
    return count if isinstance(count, int) else None


ENVELOPES: list[Envelope] = [AccountActivityEnvelope(), ActivityEnvelope()]


def parse_delivery(payload: object, config: XConfig) -> Delivery:
    if not isinstance(payload, Mapping):
        raise MalformedPayload("the body must be a JSON object")
    for envelope in ENVELOPES:
        if envelope.accepts(payload):
            return envelope.parse(payload, config)
    # An envelope we do not know yet is acknowledged (X disables webhooks that error) and reported.
    return Delivery(ignored=["unknown-envelope"])


def _event_list(payload: Mapping[str, Any], key: str) -> list[Any]:
    events = payload.get(key, [])
    if not isinstance(events, list):
        raise MalformedPayload(f"{key} must be a list")
    return events


# ---------------------------------------------------------------- deleting our reply (an agent's UNDO)
def delete_request(post_id: str, kind: MentionKind, config: XConfig) -> tuple[str, str, dict[str, str]]:
    """`DELETE /2/tweets/:id` with the user-context token that posted it: (method, url, headers). Raises
    ValueError for a direct message, which the API does not delete."""
    if kind == MentionKind.DIRECT_MESSAGE:
        raise ValueError("X direct messages cannot be deleted through the API")
    return "DELETE", f"{config.api_base.rstrip('/')}/2/tweets/{post_id}", _bearer(config)


def _bearer(config: XConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.bearer_token}"}
