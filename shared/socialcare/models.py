"""The domain's vocabulary: every platform's events become these models."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

# Platforms with built-in adapters. A Standard Webhooks source uses its own configured name as its platform.
BUILT_IN_PLATFORMS = ("x", "facebook", "instagram")


def utc_now() -> datetime:
    return datetime.now(UTC)


class MentionKind(StrEnum):
    POST = "post"  # a public post or reply that mentions or answers the brand
    COMMENT = "comment"  # a comment under a post (Facebook Page, Instagram)
    DIRECT_MESSAGE = "direct_message"
    REVIEW = "review"  # a review or blog/forum post from a Standard Webhooks source


class MentionStatus(StrEnum):
    NEW = "new"  # stored, nobody notified yet
    WAITING = "waiting"  # nobody could take it yet; retried
    ASSIGNED = "assigned"  # an agent was notified
    OPENED = "opened"  # the agent opened the reply link
    ANSWERED = "answered"
    DELETED = "deleted"  # the customer deleted it on the platform
    REMOVED = "removed"  # the platform removed it (Facebook verb "remove")
    OURS = "ours"  # the brand's own post: never a mention to answer


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    followers: int | None = None
    verified: bool = False


class Mention(BaseModel):
    """One thing a customer (or the brand itself) said on a platform, in one shape for every platform."""

    platform: str
    external_id: str = Field(min_length=1)
    kind: MentionKind
    author: Author
    text: str
    url: str | None = None
    created_at: datetime
    received_at: datetime = Field(default_factory=utc_now)
    # The platform's own thread key (root post, parent comment, DM peer). Ingest resolves the conversation
    # from it and from in_reply_to, so follow-ups join the conversation of what they answer.
    thread_key: str
    in_reply_to: str | None = None
    conversation_id: str | None = None
    is_ours: bool = False
    status: MentionStatus = MentionStatus.NEW
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return mention_id(self.platform, self.external_id)


def mention_id(platform: str, external_id: str) -> str:
    return f"{platform}-{external_id}"


class Tombstone(BaseModel):
    """The platform says a mention is gone (deleted by its author, or removed)."""

    platform: str
    external_id: str
    status: MentionStatus


class Delivery(BaseModel):
    """What one webhook call brought, after verification and parsing."""

    mentions: list[Mention] = Field(default_factory=list)  # new mentions, ours included (is_ours)
    edits: list[Mention] = Field(default_factory=list)  # new text for mentions we may already have
    tombstones: list[Tombstone] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)  # event types acknowledged and not stored
