"""The registry: from a platform's name (a mention's `platform`) or a webhook's name to its adapter.

Adding a platform is its package under `socialcare/platforms/` and one line in ADAPTERS. A platform the
named adapters do not claim belongs to the catch-all (the Standard Webhooks sources, named in the
configuration). Tests may `register` an adapter at run time.

Each line names what the registry must answer without the adapter (its webhook, platform names and routes)
and where the adapter is; its package is imported on first use. A function loads the platforms it serves,
not every platform's models: importing them all was a sixth of each cold start. tests/unit/test_registry_
lines.py keeps each line equal to its adapter."""

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from socialcare.models import Author, Mention, MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import (
    DEFAULT_TIMEOUT,
    DeletingAdapter,
    PermanentFailure,
    PlatformAdapter,
    PollingAdapter,
    PostContext,
    PostResult,
    ReplyRules,
    ReplyTarget,
    WebhookRoute,
)
from socialcare.platforms.claimed import claim

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.bluesky import BlueskyPlatform
    from socialcare.platforms.feeds import FeedsPlatform
    from socialcare.platforms.google_reviews import GoogleReviewsPlatform
    from socialcare.platforms.meta import MetaPlatform
    from socialcare.platforms.sources import SourcesPlatform
    from socialcare.platforms.threads import ThreadsPlatform
    from socialcare.platforms.x import XPlatform

    # mypy checks each listed adapter against the protocol, which the lines' "module:Class" cannot show it.
    _CHECKED: list[PlatformAdapter] = [
        XPlatform(),
        MetaPlatform(),
        BlueskyPlatform(),
        ThreadsPlatform(),
        GoogleReviewsPlatform(),
        FeedsPlatform(),
        SourcesPlatform(),
    ]


@dataclass
class Line:
    """An adapter as the registry knows it before importing it: `platforms` are the names it claims (empty
    for the adapters whose names come from the configuration), `location` is "module:Class"."""

    webhook: str
    platforms: tuple[str, ...]
    routes: tuple[WebhookRoute, ...]
    location: str
    loaded: PlatformAdapter | None = field(default=None, repr=False)

    @property
    def adapter(self) -> PlatformAdapter:
        if self.loaded is None:
            module, name = self.location.split(":")
            self.loaded = cast(PlatformAdapter, getattr(importlib.import_module(module), name)())
        return self.loaded


def _line(adapter: PlatformAdapter) -> Line:
    """The line of an adapter already made (one registered at run time)."""
    names = tuple(adapter.platforms(_EMPTY))
    return Line(adapter.webhook, names, tuple(adapter.routes()), "", loaded=adapter)


_EMPTY = PlatformConfig()
ADAPTERS: list[Line] = [
    Line("x", ("x",), (WebhookRoute("/webhooks/x", handshake=True),), "socialcare.platforms.x:XPlatform"),
    Line(
        "meta",
        ("facebook", "instagram"),
        (WebhookRoute("/webhooks/meta", handshake=True),),
        "socialcare.platforms.meta:MetaPlatform",
    ),
    Line("bluesky", ("bluesky",), (), "socialcare.platforms.bluesky:BlueskyPlatform"),
    Line(
        "threads",
        ("threads",),
        (WebhookRoute("/webhooks/threads", handshake=True),),
        "socialcare.platforms.threads:ThreadsPlatform",
    ),
    Line(
        "google_reviews",
        ("google",),
        (WebhookRoute("/webhooks/google-reviews"),),
        "socialcare.platforms.google_reviews:GoogleReviewsPlatform",
    ),
]
# Adapters whose platform names come from the configuration (feeds): asked when the caller has it.
CONFIGURED: list[Line] = [Line("feeds", (), (), "socialcare.platforms.feeds:FeedsPlatform")]
# Any other platform name is a configured Standard Webhooks source.
CATCH_ALL = Line(
    "sources",
    (),
    (WebhookRoute("/webhooks/sources/<source>"),),
    "socialcare.platforms.sources:SourcesPlatform",
)


def register(adapter: PlatformAdapter) -> Callable[[], None]:
    """Add an adapter at run time; returns the function that takes it out again."""
    line = _line(adapter)
    ADAPTERS.append(line)
    _by_platform.cache_clear()
    _by_platform()

    def unregister() -> None:
        ADAPTERS.remove(line)
        _by_platform.cache_clear()
        _by_platform()

    return unregister


@lru_cache(maxsize=1)
def _by_platform() -> dict[str, Line]:
    index = {name: line for line in ADAPTERS for name in line.platforms}
    claim(frozenset(index))
    return index


def named_platforms() -> frozenset[str]:
    """Platform names the named adapters claim: no source may take one."""
    return frozenset(_by_platform())


def lines() -> list[Line]:
    """Every adapter's line, in the order webhooks() gives the adapters, none imported."""
    return [*ADAPTERS, *CONFIGURED, CATCH_ALL]


def adapter_for(platform: str, config: PlatformConfig | None = None) -> PlatformAdapter:
    """The adapter of `platform`. Names from the configuration's other sections (feeds) are known only
    with `config`; without it they fall to the catch-all, which is right for everything but answering."""
    named = _by_platform().get(platform)
    if named is not None:
        return named.adapter
    if config is not None:
        for line in CONFIGURED:
            if platform in line.adapter.platforms(config):
                return line.adapter
    return CATCH_ALL.adapter


def adapter_for_webhook(webhook: str) -> PlatformAdapter:
    for line in lines():
        if line.webhook == webhook:
            return line.adapter
    raise LookupError(f"no platform adapter receives the {webhook!r} webhook")


def webhooks() -> list[PlatformAdapter]:
    """Every adapter (each imported now)."""
    return [line.adapter for line in lines()]


def known_platforms(config: PlatformConfig) -> list[str]:
    """Every platform name a mention may carry under `config`."""
    return [name for adapter in webhooks() for name in adapter.platforms(config)]


# ---------------------------------------------------------------- what the rest of the code asks
def familiar_names() -> dict[str, str]:
    """Names people type for a platform that the system calls otherwise ("twitter" for "x"): each adapter's
    optional `aliases`."""
    return {alias: name for adapter in webhooks() for alias, name in getattr(adapter, "aliases", {}).items()}


def label(platform: str, config: PlatformConfig | None = None) -> str:
    return adapter_for(platform, config).label(platform, config)


def reply_rules(platform: str, kind: MentionKind | str | None) -> ReplyRules:
    return adapter_for(platform).reply_rules(platform, kind)


def brand(platform: str, config: PlatformConfig) -> Author:
    return adapter_for(platform, config).brand(platform, config)


def secrets(config: PlatformConfig) -> list[str]:
    return [secret for adapter in webhooks() for secret in adapter.secrets(config) if secret]


def _context(
    config: PlatformConfig,
    session: "requests.Session | None",
    now: Callable[[], float],
    timeout: tuple[float, float],
    idempotency_key: str | None,
) -> PostContext:
    if session is None:
        import requests  # only posting needs it

        session = requests.Session()
    return PostContext(config, session, now, timeout, idempotency_key)


def post_reply(
    target: ReplyTarget,
    text: str,
    config: PlatformConfig,
    session: "requests.Session | None" = None,
    now: Callable[[], float] = time.time,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    idempotency_key: str | None = None,
) -> PostResult:
    """Post `text` as the brand's answer to `target`. Raises RetryLater or PermanentFailure."""
    context = _context(config, session, now, timeout, idempotency_key)
    try:
        return adapter_for(target.platform, config).post_reply(target, text, context)
    finally:
        if session is None:
            context.session.close()


def find_reply(
    target: ReplyTarget,
    text: str,
    since: datetime,
    config: PlatformConfig,
    session: "requests.Session | None" = None,
    now: Callable[[], float] = time.time,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> str | None:
    """Ask the platform whether our answer is there already. Raises RetryLater when it cannot say."""
    context = _context(config, session, now, timeout, None)
    try:
        return adapter_for(target.platform, config).find_reply(target, text, since, context)
    finally:
        if session is None:
            context.session.close()


def private_reply(mention: Mention, now: datetime, config: PlatformConfig | None = None) -> str | None:
    """How the public `mention` can be answered privately now ("private reply", "direct message"), or None.
    An adapter says so with its optional `private_reply(mention, now)`; without it, never."""
    if mention.kind is MentionKind.DIRECT_MESSAGE or mention.is_ours:
        return None
    decide = getattr(adapter_for(mention.platform, config), "private_reply", None)
    return decide(mention, now) if callable(decide) else None


def answered_elsewhere(platform: str, kind: MentionKind | str, config: PlatformConfig) -> bool:
    """No API can post the answer: the agent answers on the site and records it ("I answered there")."""
    return not adapter_for(platform, config).can_answer(kind)


def poller(name: str) -> PollingAdapter:
    """The adapter a scheduled poller run names (its schedule's Input: {"poller": name})."""
    for line in lines():
        if line.webhook == name and callable(getattr(line.adapter, "poll", None)):
            return cast(PollingAdapter, line.adapter)
    raise LookupError(f"no platform adapter polls {name!r}")


def check(config: PlatformConfig) -> None:
    """Validate every adapter's section of `config` now (a typo is reported at start, not as a 401 later)."""
    for adapter in webhooks():
        adapter.secrets(config)


def _deleting(platform: str, config: PlatformConfig | None) -> DeletingAdapter | None:
    adapter = adapter_for(platform, config)
    if callable(getattr(adapter, "can_delete", None)) and callable(getattr(adapter, "delete_reply", None)):
        return cast(DeletingAdapter, adapter)
    return None


def can_delete(platform: str, kind: MentionKind | str, config: PlatformConfig | None = None) -> bool:
    """Whether our answer to a mention of this kind can be deleted through the platform's API (UNDO): the
    adapter's optional `can_delete`; an adapter without it cannot delete (feeds)."""
    deleting = _deleting(platform, config)
    return deleting is not None and deleting.can_delete(kind)


def delete_reply(
    platform: str,
    mention: Mention | None,
    platform_reply_id: str,
    config: PlatformConfig,
    session: "requests.Session | None" = None,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> None:
    """Take down what a reply posted (an agent's UNDO) through the platform's adapter. `mention` is what it
    answered. Raises RetryLater or PermanentFailure (code `not_deletable` when the platform does not allow
    it)."""
    kind = mention.kind if mention is not None else MentionKind.COMMENT
    deleting = _deleting(platform, config)
    if deleting is None or not deleting.can_delete(kind):
        what = label(platform, config)
        raise PermanentFailure(f"{what} does not allow deleting a reply through its API", "not_deletable")
    context = _context(config, session, time.time, timeout, None)
    try:
        deleting.delete_reply(platform, platform_reply_id, mention, context)
    finally:
        if session is None:
            context.session.close()


_by_platform()  # claims the named platforms at import, before any configured section is read
