"""What every platform adapter is: the one interface (`PlatformAdapter`) and the values that cross it.

Everything that differs between platforms lives behind this interface, in the platform's own package
(`platforms/x`, `platforms/meta`, `platforms/sources`); the rest of the code asks the registry
(`socialcare.platforms.registry`) for the adapter of a mention's platform and never names a platform."""

import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ConfigDict, Field

from socialcare.errors import MalformedPayload
from socialcare.modeling import Model
from socialcare.models import Author, Delivery, Mention, MentionKind

if TYPE_CHECKING:
    import requests

    from socialcare.data.polling import PollStateStore
    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.local import LocalPlatform

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds for every call to a platform

# Fills in a mention the platform sent as ids only (text, author, time); raises when it cannot.
TextFetcher = Callable[[Mention], dict[str, Any]]


# ---------------------------------------------------------------- webhooks
@dataclass(frozen=True)
class WebhookRequest:
    """One HTTP request to a platform's webhook, as the adapter needs it: the raw bytes (signatures are over
    them), the headers (lowercase names), the query string and the route's path parameters."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Handshake:
    """The answer to a platform's GET check of its webhook (X's CRC, Meta's subscription challenge)."""

    body: str | dict[str, Any]
    content_type: str = "application/json"


@dataclass(frozen=True)
class WebhookRoute:
    """Where a platform calls us, in Powertools' route syntax ("/webhooks/sources/<source>"). The template's
    route for the same path sends the requests to the webhook function."""

    path: str
    handshake: bool = False  # the platform also GETs the path to check it


# ---------------------------------------------------------------- reply rules
def code_points(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))  # platforms count the NFC form


@dataclass(frozen=True)
class ReplyRules:
    """What a platform takes as an answer to one kind of mention. `limit` None: no known limit."""

    limit: int | None
    count: Callable[[str], int] = code_points
    counting_rule: str = "Every character counts as 1."
    # The page's live counter can weigh characters as X does (links 23, emoji and CJK 2).
    weighted_counter: bool = False


# ---------------------------------------------------------------- posting
class ReplyTarget(Model):
    """What a reply answers, with every id the platform needs to attach it in the right place. The adapter
    makes it from the stored mention (`PlatformAdapter.reply_target`)."""

    model_config = ConfigDict(frozen=True)

    platform: str
    kind: MentionKind
    external_id: str  # the post, comment, message or source item we answer
    author_id: str = ""  # the direct message's recipient
    parent_id: str | None = None  # where the platform attaches answers to a reply, when not under itself
    media_id: str | None = None  # the media the brand was mentioned on
    via_mention: bool = False  # the brand was mentioned on someone else's media: answer through the mention
    reply_url: str | None = None  # overrides the configured reply URL (a source)
    refs: dict[str, str] = Field(default_factory=dict)  # anything else the platform needs (Bluesky's cids)
    survey_url: str | None = None  # the customer's survey link, for a platform that passes it on (a source)
    # Answer this public mention privately (a Meta private reply to the comment, an X DM to the author).
    private: bool = False


@dataclass(frozen=True)
class PostResult:
    external_id: str  # the platform's id for our reply


class ReplyFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(ReplyFailed):
    """Throttled or a temporary failure: try again, after retry_after_s when the platform says how long.
    maybe_delivered: the request went out and no answer came back, so the platform may have posted it."""

    def __init__(self, reason: str, retry_after_s: float | None = None, *, maybe_delivered: bool = False):
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.maybe_delivered = maybe_delivered


class PermanentFailure(ReplyFailed):
    """Retrying cannot help. alert_leads: the configuration (token, permission, URL) needs a person."""

    def __init__(self, reason: str, code: str, alert_leads: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.alert_leads = alert_leads


class NeedsConfiguration(PermanentFailure):
    """A person must fix the configuration (a dead token, a missing permission or setting) before replies
    to this platform can go out: a permanent failure that alerts the leads."""

    def __init__(self, reason: str, code: str = "not_configured") -> None:
        super().__init__(reason, code, alert_leads=True)


@dataclass
class PostContext:
    """What one post or look-up may use: the configuration, an HTTP session, the clock, the timeouts."""

    config: "PlatformConfig"
    session: "requests.Session"
    now: Callable[[], float]
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    # The same on every attempt of one reply: platforms that take an idempotency key get it.
    idempotency_key: str | None = None


# ---------------------------------------------------------------- polling
@dataclass
class PollContext:
    """What one scheduled run of a platform we read (rather than hear from) may use."""

    config: "PlatformConfig"
    states: "PollStateStore"  # what it keeps between runs: a feed's ETag, a cursor
    ingest: Callable[[Delivery], "Ingested"]  # stores each mention found once (bound by the function)
    session: "requests.Session"
    now: Callable[[], datetime]


class Ingested(Protocol):
    """What storing a delivery came to, as a poll reports it."""

    stored: list[Mention]
    duplicates: int


class PollingAdapter(Protocol):
    """An adapter whose platform never calls us: the poller function runs `poll` on its schedule (the
    template's Schedule event names the adapter's `webhook` in its Input)."""

    webhook: str

    def poll(self, context: PollContext) -> dict[str, Any]:
        """Read the platform once and ingest what is new; a summary for the logs. One failing feed or
        account must not stop the others."""
        ...


# ---------------------------------------------------------------- optional: checking credentials
@dataclass(frozen=True)
class CredentialProblem:
    platform: str  # "x", "meta", a source's name, or an adapter's webhook name ("threads")
    key: str  # where it lives in the configuration document, e.g. "meta.page_access_token"
    problem: str
    action: str  # what a person does about it
    blocking: bool = True  # False: it still works, but will not for long (expiring soon)
    expires_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return {
            "platform": self.platform,
            "key": self.key,
            "problem": self.problem,
            "action": self.action,
            "blocking": self.blocking,
            "expires_at": expires,
        }


def check_with(
    platform: str, key: str, action: str, attempt: Callable[[], object], unreachable_key: str = ""
) -> list[CredentialProblem]:
    """An adapter's check, by making one call with the credential: a refusal needs a person (blocking), a
    platform that did not answer is a warning (on `unreachable_key`, else `key`)."""
    try:
        attempt()
    except NeedsConfiguration as refused:
        return [CredentialProblem(platform, key, f"{key}: {refused.reason}", action)]
    except RetryLater as failed:
        where = unreachable_key or key
        return [CredentialProblem(platform, where, f"{where}: {failed.reason}", action, blocking=False)]
    except ReplyFailed as failed:
        return [CredentialProblem(platform, key, f"{key}: {failed.reason}", action)]
    return []


@dataclass(frozen=True)
class RequiredConfig:
    """The keys of a platform's section it cannot work without (`socialcare doctor`): the section is complete
    when every key of one of `any_of` is filled in, and not in use when none of their keys is."""

    section: str
    any_of: tuple[tuple[str, ...], ...]

    def gap(self, document: Mapping[str, Any]) -> tuple[str, str] | None:
        """None when not in use, else (ok | fail, detail) for the section."""
        section = document.get(self.section) or {}
        filled = {key for keys in self.any_of for key in keys if str(section.get(key) or "").strip()}
        if not filled:
            return None
        missing = min(([key for key in keys if key not in filled] for keys in self.any_of), key=len)
        if not missing:
            return "ok", "complete"
        return "fail", "missing or empty: " + ", ".join(f"{self.section}.{key}" for key in missing)


class CredentialChecking(Protocol):
    """An adapter that checks its own credential through its platform's API (the daily credentials check,
    `socialcare credentials check`, `socialcare doctor`)."""

    webhook: str

    def check_credentials(
        self, config: "PlatformConfig", session: "requests.Session", now: datetime
    ) -> dict[str, list[CredentialProblem]]:
        """The problems found per platform checked (an empty list: its credential answered); empty when the
        platform is not in use."""
        ...


# ---------------------------------------------------------------- optional: deleting our reply (UNDO)
class DeletingAdapter(Protocol):
    """An adapter that says whether its platform lets us delete what we posted, and deletes it (an agent's
    `UNDO <code>` text)."""

    def can_delete(self, kind: MentionKind | str) -> bool:
        """Whether our answer to this kind of mention can be deleted through the platform's API."""
        ...

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        """Delete our answer (`mention` is what it answered). Raises RetryLater or PermanentFailure."""
        ...


# ---------------------------------------------------------------- the interface
class PlatformAdapter(Protocol):
    """Everything one platform (or one family, such as Meta's or the Standard Webhooks sources) decides.

    `webhook` names the adapter in the registry and in the handler builder; `platforms` are the platform
    names its mentions carry (a source's name is its platform)."""

    webhook: str

    def platforms(self, config: "PlatformConfig") -> Collection[str]:
        """The platform names this adapter serves under `config`."""
        ...

    def label(self, platform: str, config: "PlatformConfig | None" = None) -> str:
        """The name people know the platform by ("X", "Facebook", a source's display name)."""
        ...

    def secrets(self, config: "PlatformConfig") -> list[str]:
        """Every secret of its configuration: redacted from any reason or log line."""
        ...

    # ---- receiving
    def routes(self) -> list[WebhookRoute]: ...

    def handshake(self, request: WebhookRequest, config: "PlatformConfig") -> Handshake:
        """Answer the platform's GET check; raise a WebhookRejected when it fails."""
        ...

    def verify(self, request: WebhookRequest, config: "PlatformConfig") -> None:
        """Check the signature over the raw bytes; raise a WebhookRejected when it fails."""
        ...

    def parse(self, payload: Any, request: WebhookRequest, config: "PlatformConfig") -> Delivery:
        """The decoded JSON as mentions, edits and tombstones; raise MalformedPayload when it is wrong."""
        ...

    def delivery_id(self, request: WebhookRequest) -> str | None:
        """An id the platform keeps on every retry of one delivery (ingest claims it), or None."""
        ...

    def text_fetcher(self, config: "PlatformConfig", timeout: float) -> TextFetcher | None:
        """How to fetch the text of a mention the platform sent as ids only; None when it never does."""
        ...

    # ---- who we are
    def brand(self, platform: str, config: "PlatformConfig") -> Author:
        """Who we are on the platform: the id our posts carry (they are echoes of ours, never mentions),
        and the handle or name people see on them."""
        ...

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules: ...

    def can_answer(self, kind: MentionKind | str) -> bool:
        """Whether a reply can be posted to this kind of mention at all."""
        ...

    def answers_privately(self, kind: MentionKind | str) -> bool:
        """Whether the answer to this kind is private (a direct message) rather than public."""
        ...

    def reply_target(self, mention: Mention) -> ReplyTarget: ...

    def passes_survey_links(self) -> bool:
        """Whether a reply carries the customer's survey link for the platform to pass on (`survey_url`)."""
        ...

    def reply_kind(self, mention: Mention) -> MentionKind:
        """What our posted answer to `mention` is on the platform (a post, a comment, a message)."""
        ...

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        """Post `text` as the brand's answer. Raises RetryLater, PermanentFailure or NeedsConfiguration."""
        ...

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        """The platform's id of our answer to `target` with `text`, posted after `since`, if it is there:
        the look-up for a post whose outcome is unknown. Raises RetryLater when the platform cannot say."""
        ...

    # ---- local runs and tests
    def local(self) -> "LocalPlatform":
        """Its `socialcare simulate` events and its simulated API (socialcare.platforms.local)."""
        ...


# ---------------------------------------------------------------- what most adapters answer alike
class AdapterDefaults:
    """The answers most platforms share; an adapter inherits them and writes only what its platform decides
    otherwise. Nothing here guesses at posting or looking up a post: those an adapter always writes."""

    def delivery_id(self, request: WebhookRequest) -> str | None:
        return None  # a resend carries the same post ids: ingest stores each once

    def text_fetcher(self, config: "PlatformConfig", timeout: float) -> TextFetcher | None:
        return None  # deliveries carry the text

    def answers_privately(self, kind: MentionKind | str) -> bool:
        return False

    def passes_survey_links(self) -> bool:
        return False

    def reply_target(self, mention: Mention) -> ReplyTarget:
        return ReplyTarget(
            platform=mention.platform,
            kind=mention.kind,
            external_id=mention.external_id,
            author_id=mention.author.id,
        )


class PolledAdapterDefaults(AdapterDefaults):
    """A platform we read on a schedule (PollingAdapter): it has no webhook, so a request naming it is
    refused."""

    webhook: str

    def routes(self) -> list[WebhookRoute]:
        return []

    def handshake(self, request: WebhookRequest, config: "PlatformConfig") -> Handshake:
        raise MalformedPayload(f"{self.webhook} does not call webhooks")

    def verify(self, request: WebhookRequest, config: "PlatformConfig") -> None:
        raise MalformedPayload(f"{self.webhook} does not call webhooks")

    def parse(self, payload: Any, request: WebhookRequest, config: "PlatformConfig") -> Delivery:
        raise MalformedPayload(f"{self.webhook} does not call webhooks")
