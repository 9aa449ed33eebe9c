"""Meta (Facebook Page and Instagram) webhooks: subscription check, signature check and event parsing.

One endpoint serves both products: Meta sends `{"object": "page" | "instagram", "entry": [...]}` and batches
many entries and changes per POST, so a malformed item names its place, and anything we do not handle is
acknowledged and reported as ignored: a refused delivery is resent for up to 36 hours."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field

from socialcare.modeling import Model

if TYPE_CHECKING:
    import requests

from socialcare.errors import MalformedPayload, NotConfigured
from socialcare.models import Author, Delivery, Mention, MentionKind, MentionStatus, Tombstone, utc_now
from socialcare.platforms import validate_payload
from socialcare.platforms.meta.config import MetaConfig
from socialcare.platforms.meta.hub import answer_subscription, check_signature

FACEBOOK = "facebook"
INSTAGRAM = "instagram"
PLATFORM_OF_OBJECT = {"page": FACEBOOK, "instagram": INSTAGRAM}
FEED_ITEMS = {"comment": MentionKind.COMMENT, "post": MentionKind.POST, "status": MentionKind.POST}
# Above this an epoch is in milliseconds: messaging entries carry `time` in ms, Page and Instagram changes
# in seconds.
MILLISECONDS_FROM = 100_000_000_000
# Meta error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling) that mean "slow
# down": the same for a fetch and for a post.
THROTTLING_CODES = frozenset({4, 17, 32, 613, 80001})


class GraphApiError(Exception):
    """The Graph API refused a call, or could not be reached (code and status are None then)."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    @property
    def retryable(self) -> bool:
        # 190 (bad token) needs an admin, retrying will not help.
        return self.code in THROTTLING_CODES or self.status is None or self.status >= 500


def verify_subscription(query: Mapping[str, str], config: MetaConfig) -> str:
    """Answer the `hub.mode=subscribe` check: returns the challenge to echo back as plain text."""
    return answer_subscription(query, config.verify_token, "meta")


def verify_signature(raw_body: bytes, headers: Mapping[str, str], config: MetaConfig) -> None:
    check_signature(raw_body, headers, config.app_secret, "meta")


# ---------------------------------------------------------------- payload shapes
# The ids that become a mention's external id: an empty one is malformed, not a mention.
Id = Annotated[str, Field(min_length=1)]


class _Shape(Model):
    # Ids are strings in Meta's JSON, but test tools and older payloads send some as numbers.
    model_config = ConfigDict(coerce_numbers_to_str=True)


class _Entry(_Shape):
    id: str
    time: int | None = None
    changes: list[Any] = Field(default_factory=list)
    messaging: list[Any] = Field(default_factory=list)


class _Change(_Shape):
    field: str
    value: Any  # each field has its own shape, checked by its handler; unknown fields are not checked


class _FeedKind(_Shape):
    item: str
    verb: str = ""


class _FacebookUser(_Shape):
    id: str
    name: str | None = None


class _FeedValue(_Shape):
    item: str
    verb: str
    post_id: Id
    comment_id: Id | None = None
    parent_id: str | None = None
    from_: _FacebookUser = Field(alias="from")
    message: str = ""  # a comment with only a photo or sticker has none
    created_time: int | float | str | None = None


class _FeedRemoval(_Shape):
    item: str
    post_id: str | None = None
    comment_id: str | None = None


class _InstagramUser(_Shape):
    id: str
    username: str | None = None


class _InstagramMedia(_Shape):
    id: str
    media_product_type: str | None = None


class _InstagramComment(_Shape):
    id: Id
    text: str = ""
    from_: _InstagramUser = Field(alias="from")
    media: _InstagramMedia
    parent_id: str | None = None


class _InstagramMention(_Shape):
    comment_id: Id | None = None
    media_id: Id


class _PageMention(_Shape):
    """A Page `mention` change: someone tagged the Page in a post or comment (ids only)."""

    item: str
    verb: str = "add"
    post_id: Id
    comment_id: Id | None = None


class _Party(_Shape):
    id: str


class _Message(_Shape):
    mid: Id
    text: str = ""  # absent when the message is only attachments
    is_echo: bool = False
    is_deleted: bool = False  # Instagram: the customer unsent the message


class _Messaging(_Shape):
    sender: _Party
    recipient: _Party
    timestamp: int
    message: _Message | None = None


# ---------------------------------------------------------------- parsing
def parse_delivery(payload: object, config: MetaConfig) -> Delivery:
    if not isinstance(payload, Mapping):
        raise MalformedPayload("the body must be a JSON object")
    object_type = payload.get("object")
    if not isinstance(object_type, str):
        raise MalformedPayload("object must be a string")
    platform = PLATFORM_OF_OBJECT.get(object_type)
    if platform is None:
        # Other objects (user, permissions, whatsapp_business_account) are subscriptions we do not act on.
        return Delivery(ignored=[f"object:{object_type}"])
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload("entry must be a list")
    delivery = Delivery()
    for index, item in enumerate(entries):
        where = f"entry[{index}]"
        entry = validate_payload(_Entry, item, where)
        own_id = (config.page_id if platform == FACEBOOK else config.ig_user_id) or entry.id
        sent_at = _epoch(entry.time, f"{where}.time") if entry.time is not None else None
        for change_index, change_item in enumerate(entry.changes):
            change = validate_payload(_Change, change_item, f"{where}.changes[{change_index}]")
            _parse_change(
                change, sent_at, platform, own_id, f"{where}.changes[{change_index}].value", delivery
            )
        for messaging_index, messaging_item in enumerate(entry.messaging):
            _parse_messaging(messaging_item, platform, f"{where}.messaging[{messaging_index}]", delivery)
        # Other event lists, e.g. "standby": messages while another app controls the conversation.
        handled = {"changes", "messaging"}
        delivery.ignored.extend(
            key for key, value in item.items() if isinstance(value, list) and key not in handled
        )
    return delivery


def _parse_change(
    change: _Change, sent_at: datetime | None, platform: str, own_id: str, where: str, delivery: Delivery
) -> None:
    if platform == FACEBOOK and change.field == "feed":
        _parse_feed(change.value, sent_at, own_id, where, delivery)
    elif platform == INSTAGRAM and change.field == "comments":
        comment = validate_payload(_InstagramComment, change.value, where)
        delivery.mentions.append(_mention_from_instagram_comment(comment, sent_at, own_id, change.value))
    elif platform == INSTAGRAM and change.field == "mentions":
        mention = validate_payload(_InstagramMention, change.value, where)
        delivery.mentions.append(_mention_from_instagram_mention(mention, sent_at, change.value))
    elif platform == FACEBOOK and change.field == "mention":
        _parse_page_mention(change.value, sent_at, where, delivery)
    else:
        delivery.ignored.append(change.field)


def _parse_feed(
    value: dict[str, Any], sent_at: datetime | None, own_id: str, where: str, delivery: Delivery
) -> None:
    kind = validate_payload(_FeedKind, value, where)
    if kind.item not in FEED_ITEMS:
        delivery.ignored.append(f"feed:{kind.item}")  # reaction, like, share, photo, video, ...
    elif kind.verb == "remove":
        removal = validate_payload(_FeedRemoval, value, where)
        id_field = "comment_id" if removal.item == "comment" else "post_id"
        external_id = removal.comment_id if removal.item == "comment" else removal.post_id
        if not external_id:
            raise MalformedPayload(f"{where}.{id_field}: Field required")
        delivery.tombstones.append(
            Tombstone(platform=FACEBOOK, external_id=external_id, status=MentionStatus.REMOVED)
        )
    elif kind.verb in {"add", "edited"}:
        feed = validate_payload(_FeedValue, value, where)
        mention = _mention_from_feed(feed, sent_at, own_id, where, value)
        if kind.verb == "edited":
            mention.text_at = sent_at  # the entry's time is the edit's; created_time stays the comment's
        (delivery.mentions if kind.verb == "add" else delivery.edits).append(mention)
    else:
        delivery.ignored.append(f"feed:{kind.item}:{kind.verb}")  # hide, unhide, ...


def _mention_from_feed(
    feed: _FeedValue, sent_at: datetime | None, own_id: str, where: str, raw: dict[str, Any]
) -> Mention:
    is_comment = feed.item == "comment"
    if is_comment and not feed.comment_id:
        raise MalformedPayload(f"{where}.comment_id: Field required")
    external_id = feed.comment_id if is_comment and feed.comment_id else feed.post_id
    in_reply_to: str | None = None
    if is_comment:
        # A reply to a comment has the comment as parent; a top-level comment has the post (or no parent_id).
        in_reply_to = feed.parent_id if feed.parent_id and feed.parent_id != feed.post_id else feed.post_id
    ours = feed.from_.id == own_id
    return Mention(
        platform=FACEBOOK,
        external_id=external_id,
        kind=FEED_ITEMS[feed.item],
        author=Author(id=feed.from_.id, name=feed.from_.name),
        text=feed.message,
        url=f"https://www.facebook.com/{external_id}",
        created_at=_created_at(feed.created_time, sent_at, f"{where}.created_time"),
        thread_key=feed.post_id,
        in_reply_to=in_reply_to,
        is_ours=ours,
        status=MentionStatus.OURS if ours else MentionStatus.NEW,
        raw=raw,
    )


def _mention_from_instagram_comment(
    comment: _InstagramComment, sent_at: datetime | None, own_id: str, raw: dict[str, Any]
) -> Mention:
    user = comment.from_
    ours = user.id == own_id
    return Mention(
        platform=INSTAGRAM,
        external_id=comment.id,
        kind=MentionKind.COMMENT,
        author=Author(
            id=user.id,
            handle=user.username,
            url=f"https://www.instagram.com/{user.username}" if user.username else None,
        ),
        text=comment.text,
        created_at=sent_at or utc_now(),  # Instagram sends no time of its own: the entry's is the closest
        thread_key=comment.media.id,
        in_reply_to=comment.parent_id or comment.media.id,
        is_ours=ours,
        status=MentionStatus.OURS if ours else MentionStatus.NEW,
        # The comments webhook names the media but not its link: ingest asks for its permalink
        # (fetch_instagram_permalink), so the pages and alerts can say "Open on Instagram".
        raw=raw if ours else {**raw, "needs_link": True},
    )


def _mention_from_instagram_mention(
    mention: _InstagramMention, sent_at: datetime | None, raw: dict[str, Any]
) -> Mention:
    # Meta sends only ids: the text and the author come from the Graph API (fetch_instagram_mention, or
    # fetch_instagram_caption for a mention in a post's caption, which has no comment_id), later and off
    # the webhook's clock. The author id stays empty until then.
    in_caption = mention.comment_id is None
    return Mention(
        platform=INSTAGRAM,
        external_id=mention.comment_id or mention.media_id,
        kind=MentionKind.POST if in_caption else MentionKind.COMMENT,
        author=Author(id=""),
        text="",
        created_at=sent_at or utc_now(),  # Instagram sends no time of its own: the entry's is the closest
        thread_key=mention.media_id,
        in_reply_to=None if in_caption else mention.media_id,
        raw={**raw, "needs_text": True},
    )


def _parse_page_mention(value: Any, sent_at: datetime | None, where: str, delivery: Delivery) -> None:
    mention = validate_payload(_PageMention, value, where)
    if mention.item not in ("post", "comment") or mention.verb != "add":
        delivery.ignored.append(f"mention:{mention.item}:{mention.verb}")  # edits and removals
        return
    is_comment = mention.item == "comment"
    if is_comment and not mention.comment_id:
        raise MalformedPayload(f"{where}.comment_id: Field required")
    external_id = mention.comment_id if is_comment and mention.comment_id else mention.post_id
    # Ids only, like Instagram's: the text and author come from fetch_facebook_mention.
    delivery.mentions.append(
        Mention(
            platform=FACEBOOK,
            external_id=external_id,
            kind=MentionKind.COMMENT if is_comment else MentionKind.POST,
            author=Author(id=""),
            text="",
            url=f"https://www.facebook.com/{external_id}",
            created_at=sent_at or utc_now(),
            thread_key=mention.post_id,
            in_reply_to=mention.post_id if is_comment else None,
            raw={**value, "needs_text": True},
        )
    )


def _parse_messaging(item: Any, platform: str, where: str, delivery: Delivery) -> None:
    event = validate_payload(_Messaging, item, where)
    message = event.message
    if message is None:
        others = [key for key in item if key not in {"sender", "recipient", "timestamp"}]
        delivery.ignored.append(f"messaging:{others[0] if others else 'unknown'}")  # delivery, read, reaction
        return
    if message.is_deleted:
        delivery.tombstones.append(
            Tombstone(platform=platform, external_id=message.mid, status=MentionStatus.DELETED)
        )
        return
    customer_id = event.recipient.id if message.is_echo else event.sender.id
    delivery.mentions.append(
        Mention(
            platform=platform,
            external_id=message.mid,
            kind=MentionKind.DIRECT_MESSAGE,
            author=Author(id=event.sender.id),
            text=message.text,
            created_at=_epoch(event.timestamp, f"{where}.timestamp"),
            thread_key=f"dm:{customer_id}",
            is_ours=message.is_echo,
            status=MentionStatus.OURS if message.is_echo else MentionStatus.NEW,
            raw=item,
        )
    )


def _created_at(value: int | float | str | None, sent_at: datetime | None, where: str) -> datetime:
    """The item's own time (unix seconds or ISO 8601), else the entry's time, else now: a missing time is
    not worth refusing a customer's comment over."""
    if value is None or value == "":
        return sent_at or utc_now()
    if isinstance(value, str) and not value.isdigit():
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as error:
            raise MalformedPayload(f"{where}: {value!r} is neither unix seconds nor ISO 8601") from error
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return _epoch(value, where)


def _epoch(value: int | float | str, where: str) -> datetime:
    try:
        seconds = float(value)  # an integer of 400 digits overflows here already
        if seconds >= MILLISECONDS_FROM:
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedPayload(f"{where}: {str(value)[:32]!r} is not a valid time") from error


# ---------------------------------------------------------------- Graph API
def fetch_instagram_mention(
    comment_id: str, config: MetaConfig, session: "requests.Session | None" = None, timeout: float = 5
) -> dict[str, Any]:
    """The text, username and timestamp of a comment that mentions our Instagram account, and the link of the
    media it is on (a comment has no link of its own)."""
    fields = f"mentioned_comment.comment_id({comment_id}){{text,username,timestamp,media{{permalink}}}}"
    comment = _graph_object(config.ig_user_id, fields, "mentioned_comment", config, session, timeout)
    media = comment.get("media")
    permalink = media.get("permalink") if isinstance(media, dict) else None
    fetched = {
        "text": comment.get("text", ""),
        "username": comment.get("username"),
        "timestamp": comment.get("timestamp"),
    }
    return {**fetched, "url": permalink} if isinstance(permalink, str) and permalink else fetched


def fetch_instagram_permalink(
    media_id: str, config: MetaConfig, session: "requests.Session | None" = None, timeout: float = 5
) -> dict[str, Any]:
    """{"url": the permalink} of the brand's own Instagram media a comment was made on (`GET /{media-id}?
    fields=permalink`): the comments webhook sends the media's id only."""
    body = _graph_get(media_id, "permalink", config, session, timeout)
    permalink = body.get("permalink")
    if not isinstance(permalink, str) or not permalink.startswith("https://"):
        raise GraphApiError("the media has no permalink", status=200)
    return {"url": permalink}


def fetch_instagram_caption(
    media_id: str, config: MetaConfig, session: "requests.Session | None" = None, timeout: float = 5
) -> dict[str, Any]:
    """The caption, username, timestamp and link of someone's post that mentions our Instagram account."""
    fields = f"mentioned_media.media_id({media_id}){{caption,username,timestamp,permalink}}"
    media = _graph_object(config.ig_user_id, fields, "mentioned_media", config, session, timeout)
    return {
        "text": media.get("caption", ""),
        "username": media.get("username"),
        "timestamp": media.get("timestamp"),
        "url": media.get("permalink"),
    }


def fetch_facebook_mention(
    object_id: str, config: MetaConfig, session: "requests.Session | None" = None, timeout: float = 5
) -> dict[str, Any]:
    """The text, author, time and link of a post or comment that tags our Page."""
    body = _graph_get(object_id, "message,from,created_time,permalink_url", config, session, timeout)
    sender = body.get("from")
    author: dict[str, Any] = sender if isinstance(sender, dict) else {}
    return {
        "text": body.get("message", ""),
        "author_id": author.get("id"),
        "name": author.get("name"),
        "timestamp": body.get("created_time"),
        "url": body.get("permalink_url"),
    }


def _graph_object(
    node: str,
    fields: str,
    name: str,
    config: MetaConfig,
    session: "requests.Session | None",
    timeout: float,
) -> dict[str, Any]:
    if not config.ig_user_id:
        raise NotConfigured("meta.ig_user_id and meta.page_access_token are needed to fetch mentions")
    body = _graph_get(node, fields, config, session, timeout)
    found = body.get(name)
    if not isinstance(found, dict):
        raise GraphApiError(f"the response has no {name}", status=200)
    return found


def _graph_get(
    node: str, fields: str, config: MetaConfig, session: "requests.Session | None", timeout: float
) -> dict[str, Any]:
    """GET /{node}?fields=... with the Page token: the answer's JSON object, or GraphApiError."""
    if not config.page_access_token:
        raise NotConfigured("meta.ig_user_id and meta.page_access_token are needed to fetch mentions")
    import requests  # only this call needs it: the webhooks that parse Meta payloads do not pay for it

    http = session if session is not None else requests.Session()
    try:
        response = http.get(
            f"{config.graph_base}/{node}",
            params={"fields": fields, "access_token": config.page_access_token},
            timeout=timeout,
        )
    except requests.RequestException as error:
        # Not the exception's text: it holds the URL, and the URL holds the access token.
        raise GraphApiError(f"request failed: {type(error).__name__}") from error
    finally:
        if session is None:
            http.close()
    try:
        body = response.json()
    except ValueError:
        body = None
    error_body = body.get("error") if isinstance(body, dict) else None
    if isinstance(error_body, dict):
        code = error_body.get("code")
        raise GraphApiError(
            str(error_body.get("message", "unknown error")),
            code=code if isinstance(code, int) else None,
            status=response.status_code,
        )
    if not 200 <= response.status_code < 300 or not isinstance(body, dict):
        raise GraphApiError("unexpected response", status=response.status_code)
    return body


# ---------------------------------------------------------------- deleting our reply (an agent's UNDO)
def delete_request(object_id: str, kind: MentionKind, config: MetaConfig) -> tuple[str, str, dict[str, str]]:
    """`DELETE /{comment-id}` with the Page token: (method, url, query). Raises ValueError for a direct
    message, which the Send API does not delete."""
    if kind == MentionKind.DIRECT_MESSAGE:
        raise ValueError("Messenger and Instagram messages cannot be deleted through the API")
    return (
        "DELETE",
        f"{config.graph_base.rstrip('/')}/{object_id}",
        {"access_token": config.page_access_token},
    )
