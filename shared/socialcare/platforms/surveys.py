"""Which customers a platform lets us ask privately, and how: the platform side of satisfaction surveys.
A survey is never posted in public. A direct-message conversation (X DM, Messenger, Instagram DM) can carry
one short follow-up with the survey link; Meta only inside its 24-hour messaging window after the customer's
message. A public post or comment is asked only when the answering agent ticked "Ask privately how we did",
and only where the platform allows it: a Facebook or Instagram private reply to the comment (one per
comment, within 7 days), or an X DM (refused when the author's DMs are closed)."""

from datetime import datetime
from typing import Any

from socialcare.models import Mention, MentionKind
from socialcare.platform_config import PlatformConfig


def can_ask_privately(mention: Mention, now: datetime) -> bool:
    """Whether the reply page may offer "Ask privately how we did" for this public post or comment: where
    its adapter allows a private reply (socialcare.platforms.registry.private_reply)."""
    if mention.kind is MentionKind.DIRECT_MESSAGE or not mention.author.id:
        return False  # a DM conversation is asked anyway
    from socialcare.platforms.registry import private_reply

    return private_reply(mention, now) is not None


def private_channel(mention: Mention, now: datetime, *, requested: bool = False) -> str | None:
    """How this customer can be asked privately now, or None when they cannot. `requested`: the agent
    asked for it on the reply page (needed for public posts and comments)."""
    if mention.kind is not MentionKind.DIRECT_MESSAGE:
        if not requested or not can_ask_privately(mention, now):
            return None
        from socialcare.platforms.registry import private_reply

        return private_reply(mention, now)
    from socialcare.platforms.registry import adapter_for

    # An adapter whose direct messages can carry a follow-up says when, with its optional can_follow_up.
    can_follow_up = getattr(adapter_for(mention.platform), "can_follow_up", None)
    return "direct message" if callable(can_follow_up) and can_follow_up(mention, now) else None


def send_private_message(mention: Mention, text: str, config: PlatformConfig) -> Any:
    """Send `text` into the customer's direct-message conversation, or as the adapter's private answer to a
    public mention (raises RetryLater or PermanentFailure, as replies do: X refusing a DM because the
    author's DMs are closed is a PermanentFailure)."""
    # requests, imported by posting, only on this path
    from socialcare.platforms.registry import adapter_for, post_reply

    target = adapter_for(mention.platform).reply_target(mention)
    if mention.kind is not MentionKind.DIRECT_MESSAGE:
        target = target.model_copy(update={"private": True})
    return post_reply(target, text, config)
