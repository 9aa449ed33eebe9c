"""Asking customers how we did, after `SurveyDelayMinutes`, by the per-minute sweep.

When a customer's mention is first answered, the measures function (on the table stream) schedules it
(socialcare.data.surveys, "due"). The sweep then asks only when all of this holds: the mention is still
answered (not deleted, not ours); the platform can reach the customer privately (socialcare.platforms.
surveys); and nobody asked this customer (platform and author) in the last 14 days, a conditional claim
that also keeps two overlapping sweeps from asking twice. The survey records the agent who answered when it
is sent. Throttling is tried again after the platform's own wait (as replies are), bounded; a refusal (X: the
author's DMs are closed) is recorded as failed with the reason, not retried."""

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from socialcare.data.mentions import MentionStore
from socialcare.data.surveys import Survey, SurveyStore
from socialcare.models import Mention, MentionKind, MentionStatus, utc_now
from socialcare.observability import logger
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.surveys import private_channel
from socialcare.replies.tokens import hash_token, new_token
from socialcare.settings import PublicUrl, Table, load
from socialcare.singletons import one_per_process

ONCE_PER_CUSTOMER = timedelta(days=14)
LINK_VALID = timedelta(days=14)
# A throttled survey waits what the platform asked for (X's rate-limit reset, Meta's estimated time to
# regain access, Retry-After), at least a sweep and at most a day: a later question is no longer about our
# answer. When the platform names no wait, RETRY_AFTER.
RETRY_AFTER = timedelta(minutes=5)
RETRY_AT_LEAST = timedelta(minutes=1)
RETRY_AT_MOST = timedelta(hours=24)
NO_WAIT = timedelta(0)
QUESTION = "Thanks for talking with us. How did we do? One tap tells us: {url}"


@dataclass
class SurveyReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: int = 0


def retry_wait(retry_after_s: float | None) -> timedelta:
    """How long a throttled survey waits: the platform's own wait when it gave one, bounded."""
    if retry_after_s is None:
        return RETRY_AFTER
    return min(RETRY_AT_MOST, max(RETRY_AT_LEAST, timedelta(seconds=retry_after_s)))


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


@dataclass
class SurveySender:
    surveys: SurveyStore
    mentions: MentionStore
    config: Callable[[], PlatformConfig]
    base_url: str
    # None: the platforms' own sender, imported on first use (requests would cost every sweep's cold start)
    send: Callable[[Mention, str, PlatformConfig], Any] | None = None

    def sweep(self, now: datetime) -> SurveyReport:
        report = SurveyReport()
        for sort_key, mention_id in self.surveys.due(now):
            outcome, wait = self._ask(mention_id, now)
            if outcome == "retry":
                self.surveys.reschedule(sort_key, mention_id, now + wait)
            else:
                self.surveys.done(sort_key)
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def _ask(self, mention_id: str, now: datetime) -> tuple[str, timedelta]:
        """The outcome ("sent", "skipped", "failed" or "retry") and, for "retry", how long to wait."""
        mention = self.mentions.get(mention_id)
        if mention is None or mention.is_ours or mention.status is not MentionStatus.ANSWERED:
            return "skipped", NO_WAIT  # deleted, removed, ours or never answered: never asked
        requested = mention.kind is not MentionKind.DIRECT_MESSAGE and self.surveys.requested(mention.id)
        if private_channel(mention, now, requested=requested) is None:
            logger.info("no private channel for a survey", mention_id=mention_id, platform=mention.platform)
            return "skipped", NO_WAIT
        if not self.surveys.claim_customer(mention.platform, mention.author.id, now, ONCE_PER_CUSTOMER):
            return "skipped", NO_WAIT  # asked within 14 days, or another sweep is asking now
        token = new_token()
        survey = Survey(
            survey_id="srv-" + hashlib.sha256(f"{mention.id}|{now.isoformat()}".encode()).hexdigest()[:20],
            token_hash=hash_token(token),
            mention_id=mention.id,
            platform=mention.platform,
            priority=mention.priority or "normal",
            agent=(mention.answered_by or "").lower(),
            received_at=mention.received_at,
            state="sending",
            sent_at=now,
            valid_until=now + LINK_VALID,
        )
        self.surveys.put(survey)
        from socialcare.platforms.base import PermanentFailure, RetryLater
        from socialcare.platforms.surveys import send_private_message

        send = self.send or send_private_message
        try:
            send(mention, QUESTION.format(url=survey_url(self.base_url, token)), self.config())
        except RetryLater as retry:
            self.surveys.set_state(survey, "failed", f"retried later: {retry.reason}")
            self.surveys.release_customer(mention.platform, mention.author.id)
            return "retry", retry_wait(retry.retry_after_s)
        except PermanentFailure as refusal:
            self.surveys.set_state(survey, "failed", refusal.reason)
            logger.warning("survey not sent", mention_id=mention_id, code=refusal.code)
            return "failed", NO_WAIT
        self.surveys.set_state(survey, "sent")
        logger.info("survey sent", mention_id=mention_id, survey_id=survey.survey_id)
        return "sent", NO_WAIT


def source_survey_links(
    surveys: SurveyStore, base_url: str, now: Callable[[], datetime] | None = None
) -> Callable[[Any, Mention], str | None] | None:
    """For replies to a Standard Webhooks source: the survey link its `reply.created` carries, so the
    source can pass it on (by email to a reviewer, say). The token is derived from the reply's id under a
    key derived from the reply form key secret, so a retried post carries the same link and stores one
    survey; a customer asked within 14 days gets none."""
    if not base_url:
        return None

    def link(reply: Any, mention: Mention) -> str | None:
        from socialcare.replies.forms import get_nonce_key  # only replies to sources need it

        moment = (now or utc_now)()
        digest = hmac.new(get_nonce_key(), f"survey-token|{reply.reply_id}".encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        url = survey_url(base_url, token)
        if surveys.get(token) is not None:
            return url  # a retry of this reply: the same survey
        if not surveys.claim_customer(mention.platform, mention.author.id, moment, ONCE_PER_CUSTOMER):
            return None
        surveys.put(
            Survey(
                survey_id="srv-" + hash_token(token)[:20],
                token_hash=hash_token(token),
                mention_id=mention.id,
                platform=mention.platform,
                priority=mention.priority or "normal",
                agent=str(reply.agent_email).lower(),
                received_at=mention.received_at,
                state="sent",
                sent_at=moment,
                valid_until=moment + LINK_VALID,
            )
        )
        return url

    return link


class SurveySettings(Table, PublicUrl):
    """What asking for surveys reads: the table and where survey links point."""


@one_per_process
def get_survey_sender() -> SurveySender:
    """The sweep's survey sender (stores and settings created once per execution environment)."""
    from socialcare.data import table
    from socialcare.platform_config import get_platform_config

    settings = load(SurveySettings)
    shared_table = table(settings.table_name)
    return SurveySender(
        SurveyStore(shared_table), MentionStore(shared_table), get_platform_config, settings.public_base_url
    )
