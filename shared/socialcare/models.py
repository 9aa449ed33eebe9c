"""The domain's vocabulary: every platform's events become these models."""

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

from socialcare.labels import author_label
from socialcare.modeling import Model
from socialcare.people.schedules import parse_schedule, parse_time_zone


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
    REPLY_FAILED = "reply_failed"  # the agent's reply was refused: the agent can try again from the page
    DELETED = "deleted"  # the customer deleted it on the platform
    REMOVED = "removed"  # the platform removed it (Facebook verb "remove")
    OURS = "ours"  # the brand's own post: never a mention to answer


# The status changes a stored mention may make: new status -> the statuses it may come from. The stores'
# conditional writes use it (socialcare.data.mentions): a write whose target is not listed for the status
# the mention has when it lands is refused. A mention is stored new (or ours) and never goes back to new.
MENTION_TRANSITIONS: dict[MentionStatus, frozenset[MentionStatus]] = {
    MentionStatus.WAITING: frozenset({MentionStatus.NEW, MentionStatus.WAITING}),  # nobody can take it yet
    MentionStatus.ASSIGNED: frozenset({MentionStatus.NEW, MentionStatus.WAITING}),  # dispatched
    # "I'm on it" on the reply page, or an answer undone on the platform (UNDO by text).
    MentionStatus.OPENED: frozenset({MentionStatus.ASSIGNED, MentionStatus.WAITING, MentionStatus.ANSWERED}),
    MentionStatus.REPLY_FAILED: frozenset(
        {MentionStatus.NEW, MentionStatus.WAITING, MentionStatus.ASSIGNED, MentionStatus.OPENED}
    ),
    # A reply went out: whatever became of the mention meanwhile, it was answered (once: answered_at).
    MentionStatus.ANSWERED: frozenset(set(MentionStatus) - {MentionStatus.ANSWERED, MentionStatus.OURS}),
    # The platform says it is gone: from anything.
    MentionStatus.DELETED: frozenset(MentionStatus),
    MentionStatus.REMOVED: frozenset(MentionStatus),
}


class Author(Model):
    model_config = ConfigDict(frozen=True)

    id: str
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    followers: int | None = None
    verified: bool = False

    @property
    def label(self) -> str:
        """How people know them (socialcare.labels)."""
        return author_label(self.handle, self.name, self.id)


class Mention(Model):
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
    # The platform sent only ids (an Instagram mention) and fetching the text failed: it is stored with empty
    # text, and socialcare.ingest.enrichment.retry_pending_texts fills it in later.
    text_pending: bool = False
    # When the platform says the stored text was written: an edit's event time (None: created_at). An edit
    # older than it is a late resend and is ignored (socialcare.ingest.mentions).
    text_at: datetime | None = None
    # The mention's life after ingest, written by dispatch, escalation and the reply page.
    priority: str | None = None
    assigned_to: list[str] = Field(default_factory=list)  # emails of the agents it was sent to
    notified_at: datetime | None = None
    escalation_level: int = 0
    waiting_reason: str | None = None
    opened_at: datetime | None = None
    opened_by: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    first_response_seconds: int | None = None
    # The last agent who pressed "I'll take it" on /team, and when: the team page says "Ann is answering".
    taken_by: str | None = None
    taken_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return mention_id(self.platform, self.external_id)


def mention_id(platform: str, external_id: str) -> str:
    """`<platform>-<external id>`, split at the first `-`, so the platform part must not contain one: a
    source name's `-` is written `.`, which names cannot contain (SOURCE_NAME in
    socialcare.platforms.sources.config). Source `a` with id `b-c` is `a-b-c`; source `a-b` with id `c` is
    `a.b-c`. Built-in platforms and source names without `-` keep the key they always had."""
    return f"{platform.replace('-', '.')}-{external_id}"


class Tombstone(Model):
    """The platform says a mention is gone (deleted by its author, or removed)."""

    platform: str
    external_id: str
    status: MentionStatus


class Delivery(Model):
    """What one webhook call brought, after verification and parsing."""

    mentions: list[Mention] = Field(default_factory=list)  # new mentions, ours included (is_ours)
    edits: list[Mention] = Field(default_factory=list)  # new text for mentions we may already have
    tombstones: list[Tombstone] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)  # event types acknowledged and not stored


# ---- agents and shifts

# An agent is someone the dispatcher may text: who they are, what they cover and when they work. The schedule
# is kept as the string people type ("Mon-Fri 09:00-17:00") and parsed by socialcare.people.schedules;
# socialcare.people.shifts answers "is this agent on shift at that instant?".

EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$"
)
E164_PATTERN = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit


class DirectoryNetwork(NamedTuple):
    """A social network an agent may show on the public /people page (not a platform we answer on: the
    directory links people's own profiles). `profile_url` takes the handle without its @; "{}" alone means
    the handle is the address."""

    key: str
    label: str
    profile_url: str


DIRECTORY_NETWORKS = (
    DirectoryNetwork("x", "X", "https://x.com/{}"),
    DirectoryNetwork("instagram", "Instagram", "https://www.instagram.com/{}"),
    DirectoryNetwork("bluesky", "Bluesky", "https://bsky.app/profile/{}"),
    DirectoryNetwork("threads", "Threads", "https://www.threads.net/@{}"),
    DirectoryNetwork("website", "Website", "{}"),
)
DIRECTORY_HANDLES = tuple(network.key for network in DIRECTORY_NETWORKS)
MAX_HANDLE_LENGTH = 200
MAX_ROLE_LENGTH = 80


class ShiftOverride(Model):
    """A one-off change to an agent's week: "add" is an extra on-shift window, "off" is time off and wins over
    everything. Naive datetimes are read in the shift's time zone when the Shift is built."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["add", "off"]
    starts_at: datetime
    ends_at: datetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> "ShiftOverride":
        # Mixed naive/aware pairs cannot be compared yet; Shift localizes them and builds this model again.
        comparable = (self.starts_at.tzinfo is None) == (self.ends_at.tzinfo is None)
        if comparable and self.ends_at <= self.starts_at:
            raise ValueError(
                f"override {self.kind}: ends_at {self.ends_at.isoformat()} must be after "
                f"starts_at {self.starts_at.isoformat()}"
            )
        return self


class Shift(Model):
    """When an agent works: a weekly schedule in their own time zone plus one-off overrides."""

    model_config = ConfigDict(frozen=True)

    time_zone: str  # IANA name; wall-clock windows follow its daylight-saving changes
    weekly: str = ""  # e.g. "Mon-Fri 09:00-17:00, Sat 10:00-14:00"; empty = only overrides put them on shift
    overrides: tuple[ShiftOverride, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        return parse_time_zone(value).key

    @field_validator("weekly")
    @classmethod
    def _parsable_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value.strip()

    @field_validator("overrides")
    @classmethod
    def _localize_overrides(
        cls, overrides: tuple[ShiftOverride, ...], info: ValidationInfo
    ) -> tuple[ShiftOverride, ...]:
        time_zone = info.data.get("time_zone")
        if time_zone is None:  # the time zone was invalid and already reported
            return overrides
        zone = ZoneInfo(time_zone)
        return tuple(
            ShiftOverride(
                kind=override.kind,
                starts_at=_in_zone(override.starts_at, zone),
                ends_at=_in_zone(override.ends_at, zone),
            )
            for override in overrides
        )


def _in_zone(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _default_shift() -> Shift:
    return Shift(time_zone="UTC")  # no weekly hours: the time zone does not matter until some are set


class Agent(Model):
    """A person who answers customers. Identified by email (stored lower case)."""

    name: str = Field(min_length=1)
    email: str
    phone: str  # E.164, where the SMS goes
    platforms: list[str] = Field(default_factory=list)  # empty = every platform
    languages: list[str] = Field(default_factory=lambda: ["en"])
    lead: bool = False  # leads get what nobody on shift can take, and every level-2 escalation
    active: bool = True  # inactive agents are never notified (left, on leave), whatever their shift says
    # The agent texted STOP to the two-way number (socialcare.replies.by_text): emails only until they text
    # START.
    sms_opted_out: bool = False
    shift: Shift = Field(default_factory=_default_shift)
    # No texts until this instant (set on /team/me); it wins over shifts and the leads' fallback alike.
    paused_until: datetime | None = None
    # The public /people page, opt-in: only these are ever shown there, next to the name.
    directory: bool = False
    role: str | None = Field(default=None, max_length=MAX_ROLE_LENGTH)
    handles: dict[str, str] = Field(default_factory=dict)

    @field_validator("handles")
    @classmethod
    def _known_handles(cls, handles: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for network, handle in handles.items():
            key, value = network.strip().lower(), handle.strip()
            if key not in DIRECTORY_HANDLES:
                raise ValueError(f"handle {network!r} is not one of {', '.join(DIRECTORY_HANDLES)}")
            if len(value) > MAX_HANDLE_LENGTH or any(char.isspace() for char in value):
                raise ValueError(f"handle {key}: {handle!r} must be one word of at most {MAX_HANDLE_LENGTH}")
            if key == "website" and value and not value.lower().startswith(("https://", "http://")):
                raise ValueError(f"website {handle!r} must start with https://")
            if value:
                cleaned[key] = value
        return cleaned

    @field_validator("paused_until")
    @classmethod
    def _aware_pause(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("paused_until needs a time zone")
        return value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        email = value.strip().lower()
        if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(email):
            raise ValueError(f"email {value!r} is not a valid address (expected name@example.com)")
        return email

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        phone = value.strip()
        if not E164_PATTERN.fullmatch(phone):
            raise ValueError(
                f"phone {value!r} is not in E.164 form: '+', country code and number, no spaces "
                "(e.g. +14155550123)"
            )
        return phone

    @field_validator("platforms", "languages")
    @classmethod
    def _lower_case_names(cls, values: list[str], info: ValidationInfo) -> list[str]:
        names = list(dict.fromkeys(value.strip().lower() for value in values))
        if "" in names:
            raise ValueError(f"{info.field_name} must not contain empty names")
        if info.field_name == "languages" and not names:
            raise ValueError("languages must list at least one language code (e.g. ['en'])")
        return names
