"""Which customers a platform lets us ask privately, and how: the platform side of satisfaction surveys.
A survey is never posted in public. A direct-message conversation (X DM, Messenger, Instagram DM) can carry
one short follow-up with the survey link; Meta only inside its 24-hour messaging window after the customer's
message. Public posts and comments get none (an agent-requested private reply is not built yet)."""

from datetime import datetime, timedelta
from typing import Any

from socialcare.models import Mention, MentionKind
from socialcare.platform_config import PlatformConfig

META_MESSAGING_WINDOW = timedelta(hours=24)


def private_channel(mention: Mention, now: datetime) -> str | None:
    """Why this customer can be asked privately now ("direct message"), or None when they cannot."""
    if mention.kind is not MentionKind.DIRECT_MESSAGE or not mention.author.id:
        return None
    if mention.platform == "x":
        return "direct message"
    if mention.platform in ("facebook", "instagram") and now - mention.created_at < META_MESSAGING_WINDOW:
        return "direct message"
    return None


def send_private_message(mention: Mention, text: str, config: PlatformConfig) -> Any:
    """Send `text` into the customer's direct-message conversation (raises RetryLater or PermanentFailure,
    as replies do: X refusing a DM because the author's DMs are closed is a PermanentFailure)."""
    from socialcare.platforms.replies import ReplyTarget, post_reply  # requests: only when a survey goes out

    target = ReplyTarget(
        platform=mention.platform,
        kind=MentionKind.DIRECT_MESSAGE,
        external_id=mention.external_id,
        author_id=mention.author.id,
    )
    return post_reply(target, text, config)
