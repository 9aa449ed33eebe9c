"""The reply sender: posts each queued reply to its platform, once.

The reply page writes a `pending` reply (socialcare.data.replies) and queues {"mention_id", "reply_id"} on the
reply queue. SQS delivers at least once, and may deliver one message twice at the same time, so what makes
a reply go out once is the reply's own state, changed only by conditional writes:

* claim: pending -> sending. A delivery that finds the reply sent or failed does nothing; one that finds it
  `sending` under a live lease comes back when the lease runs out. The claim is also how the sender reads
  the reply (it answers with the item as it was, claimed or not), and the reply carries what the sender
  needs of its mention (data.replies.mention_for_reply, written by the page): a reply goes out with two
  requests to the table, the claim and one transaction for the outcome.
* The lease. A sender can die while posting (Lambda timeout, out of memory, a lost host) and leave `sending`
  behind with nobody to finish it. So `sending` is held for LEASE only, longer than one attempt can last
  (the function's timeout; each post's read timeout is cut to the time left), and the message that carries
  the reply returns after the queue's visibility timeout (60 s) because the dead sender never deleted it.
  That delivery finds the lease run out and claims the reply again. Every later write (sent, failed, back
  to pending) is conditional on still holding the lease, so an attempt that outlived its lease cannot
  overwrite its successor's outcome.
* The duplicate risk. A sender that died mid-post, or a post whose answer never came (read timeout), may
  have posted already, and most platforms take no idempotency key. Before posting such a reply again the
  sender looks for the post itself: among our own mentions (the one it stores with every successful post,
  in the transaction that marks the reply sent, or the platform's webhook echo of it), then by asking the
  platform (its adapter's `find_reply`: the brand's recent posts, the comment's replies, the conversation's
  messages). Found: the reply is recorded as sent with that id. Not there: it is posted again. When the
  platform cannot say (the look-up fails), the sender waits for the platform's echo for ECHO_WAIT after the
  uncertain attempt, checking again every ECHO_RECHECK_S, and only then posts again. The reply records which
  path it took (`sent_via`).

Temporary failures (throttling, 5xx, network) put the reply back to pending and the message back on the
queue with a visibility timeout: the platform's retry-after when it gives one, else exponential backoff with
jitter; never a tight loop. After MAX_ATTEMPTS, or before the queue would move the message to the dead-letter
queue, the reply fails like a permanent failure does: recorded with its reason, the agent gets a text, and
leads get an email when a person must fix the configuration."""

import json
import math
import random
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import requests
from aws_lambda_powertools.metrics import MetricUnit

from socialcare.aws_clients import client as aws_client
from socialcare.data import table
from socialcare.data.agents import AgentStore, agent_id_for
from socialcare.data.mentions import OPEN_STATUSES, MentionStore
from socialcare.data.replies import Reply, ReplyState, ReplyStore
from socialcare.data.surveys import SurveyStore
from socialcare.data.tokens import TokenStore
from socialcare.dispatch.notices import MAX_SMS_SEGMENTS, sms_segments
from socialcare.dispatch.sms import SmsSender, SnsSmsSender, sms_sender
from socialcare.measures.survey_sending import source_survey_links
from socialcare.models import Mention, MentionKind, MentionStatus, utc_now
from socialcare.observability import logger, metrics
from socialcare.platform_config import PlatformConfig, get_platform_config
from socialcare.platforms import registry
from socialcare.platforms.base import DEFAULT_TIMEOUT, PermanentFailure, ReplyTarget, RetryLater
from socialcare.platforms.metrics import platform_metrics
from socialcare.settings import (
    FormKey,
    Notifications,
    PlatformSections,
    PublicUrl,
    ReplyQueue,
    Table,
    Texting,
    load,
)
from socialcare.singletons import one_per_process
from socialcare.untrusted_text import without_format_characters

LEASE = timedelta(seconds=30)  # > the function's 10 s timeout, < the queue's 60 s visibility timeout
MAX_ATTEMPTS = 8
# The template's ReplyQueue RedrivePolicy.maxReceiveCount: the sender gives up one receive before the queue
# would move the message to the dead-letter queue, so a reply never stays `pending` with no message left.
MAX_RECEIVE_COUNT = 10
BASE_BACKOFF_S = 10
MAX_BACKOFF_S = 900  # X's rate-limit window
MAX_VISIBILITY_S = 12 * 3600 - 60  # SQS refuses visibility timeouts over 12 hours
# A post needs this much of the invocation left; with less, the message comes straight back instead.
MIN_ATTEMPT_BUDGET_S = 5.0
SAFETY_MARGIN_S = 1.5
ECHO_LOOKBACK = timedelta(minutes=2)  # clock skew between our attempt and the webhook's received_at
# When the platform cannot be asked whether an uncertain post landed, how long its echo is awaited.
ECHO_WAIT = timedelta(minutes=2)
ECHO_RECHECK_S = 30


class SentVia(StrEnum):
    """How the sender knew a reply was out."""

    POSTED = "posted"  # the platform answered the post
    OWN_RECORD = "own_record"  # an earlier attempt's post, found among our own mentions
    ECHO = "echo"  # the platform's webhook echo of an earlier attempt
    LOOKUP = "lookup"  # the platform's look-up found an earlier attempt's post
    POSTED_AFTER_LOOKUP = "posted_after_lookup"  # the look-up said it was not there: posted again
    POSTED_AFTER_ECHO_WAIT = "posted_after_echo_wait"  # the look-up failed and no echo came: posted again


class RetryScheduled(Exception):
    """The message must come back after `delay_s`: the reply is not done yet. Reported as a batch item
    failure, after the message's visibility was set to the delay."""

    def __init__(self, delay_s: int, reason: str) -> None:
        super().__init__(f"retry in {delay_s} s: {reason}")
        self.delay_s = delay_s
        self.reason = reason


class Notifier(Protocol):
    def text_agent(self, phone: str, message: str) -> None: ...

    def alert_leads(self, subject: str, message: str) -> None: ...

    def email_agent(self, email: str, subject: str, message: str) -> None: ...


def retry_delay(attempts: int, retry_after_s: float | None, rand: Callable[[], float] = random.random) -> int:
    """Seconds until the next attempt: what the platform asked for (plus a little jitter, so replies
    throttled together do not come back together), else exponential backoff with equal jitter."""
    if retry_after_s is not None:
        delay = math.ceil(retry_after_s) + 1 + int(rand() * 5)
    else:
        ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** max(0, attempts - 1))
        delay = math.ceil(ceiling / 2 + rand() * ceiling / 2)
    return max(1, min(MAX_VISIBILITY_S, delay))


def reply_target(mention: Mention, *, private: bool = False) -> ReplyTarget:
    """Everything the platform needs to attach an answer to `mention`, from the stored mention. `private`:
    the answer goes privately (a Meta private reply to the comment, an X DM to the author)."""
    target = registry.adapter_for(mention.platform).reply_target(mention)
    return target.model_copy(update={"private": True}) if private else target


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass
class ReplySender:
    replies: ReplyStore
    mentions: MentionStore
    config: Callable[[], PlatformConfig]
    notifier: Notifier
    sqs: Any
    queue_url: str
    now: Callable[[], datetime] = utc_now
    rand: Callable[[], float] = random.random
    session: requests.Session | None = None
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    owner: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    # (reply, mention) -> the survey link a Standard Webhooks source passes on, or None (asked lately)
    survey_links: Callable[[Reply, Mention], str | None] | None = None
    # reply -> a link to its "Not posted" page (Try again, Edit and send) for the failure text, or None
    failed_reply_links: Callable[[Reply], str | None] | None = None

    # ---- one SQS record
    def handle_record(self, body: str, receipt_handle: str, receive_count: int, remaining_s: float) -> None:
        """Process one message; raises RetryScheduled (after moving the message's visibility) when it must
        come back later. Any other exception also fails the record: it returns after the queue's
        visibility timeout, and after MAX_RECEIVE_COUNT receives it lands in the dead-letter queue."""
        message = json.loads(body)
        try:
            self.process(message["mention_id"], message["reply_id"], receive_count, remaining_s)
        except RetryScheduled as retry:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=retry.delay_s
            )
            logger.info("reply comes back later", delay_s=retry.delay_s, reason=retry.reason)
            raise

    def process(
        self, mention_id: str, reply_id: str, receive_count: int = 1, remaining_s: float = 60
    ) -> None:
        if remaining_s < MIN_ATTEMPT_BUDGET_S:
            reply = self.replies.get(mention_id, reply_id)
            if reply is None:
                raise LookupError(f"no reply {reply_id} for mention {mention_id}")
            if reply.state in (ReplyState.SENT, ReplyState.FAILED):
                self._follow_up(reply)
                return
            raise RetryScheduled(1, "too little time left in this invocation")
        owner = self.owner()
        now = self.now()
        # The claim is the first read too: it answers with the reply as it was, claimed or not.
        claim = self.replies.claim(mention_id, reply_id, owner, now, LEASE)
        before, reply = claim.before, claim.after
        if before is None:
            raise LookupError(f"no reply {reply_id} for mention {mention_id}")
        if reply is None:
            if before.state in (ReplyState.SENT, ReplyState.FAILED):
                self._follow_up(before)  # a failure whose text or alert did not go out yet
                return  # a redelivered message: done already
            wait = (before.lease_until or 0) - int(now.timestamp()) + 1
            raise RetryScheduled(max(1, wait), "another sender holds the reply")
        took_over = before.state is ReplyState.SENDING
        maybe_since = before.maybe_delivered_since
        if took_over and before.attempt_started_at is not None:
            # The previous sender died while posting: it may have posted.
            maybe_since = min(filter(None, (maybe_since, before.attempt_started_at)))
            logger.warning("took over a reply whose sender died", reply_id=reply_id, attempts=reply.attempts)
        self._attempt(reply, owner, maybe_since, receive_count, remaining_s)

    def _target_mention(self, reply: Reply) -> Mention | None:
        """What the reply answers: the page's copy, taken when it checked the mention (platform, ids, author,
        times and conversation do not change after ingest). A reply stored without one, or while the
        mention's text was still being fetched (fetching it sets the author and time), reads the mention."""
        copy = reply.target_mention
        if copy is not None and not copy.text_pending:
            return copy
        return self.mentions.get(reply.mention_id)

    def _attempt(
        self, reply: Reply, owner: str, maybe_since: datetime | None, receive_count: int, remaining_s: float
    ) -> None:
        mention = self._target_mention(reply)
        if mention is None:
            self._fail(reply, owner, PermanentFailure("the mention is no longer stored", "mention_missing"))
            return
        config = self.config()
        connect, read = self.timeout
        read = min(read, max(1.0, remaining_s - connect - SAFETY_MARGIN_S))  # end before the function
        target = reply_target(mention, private=reply.private)
        if self.survey_links is not None and registry.adapter_for(mention.platform).passes_survey_links():
            # A platform that passes it on (a Standard Webhooks source) gets the customer's survey link.
            target = target.model_copy(update={"survey_url": self.survey_links(reply, mention)})
        via = SentVia.POSTED
        if maybe_since is not None:
            found = self._find_earlier_post(reply, owner, mention, maybe_since, config, (connect, read))
            if isinstance(found, tuple):
                external_id, via = found
                logger.info("the earlier attempt was posted", reply_id=reply.reply_id, via=via.value)
                # Our own record or the echo is stored already; a post the look-up found is not, yet.
                store = via is SentVia.LOOKUP
                self._record_sent(reply, owner, mention, external_id, config, store_ours=store, via=via)
                return
            via = found
        try:
            result = registry.post_reply(
                target,
                reply.text,
                config,
                self.session,
                timeout=(connect, read),
                idempotency_key=reply.reply_id,
            )
        except RetryLater as retry:
            self._retry_later(reply, owner, retry, maybe_since, receive_count)
            return
        except PermanentFailure as failure:
            self._fail(reply, owner, failure)
            return
        self._record_sent(reply, owner, mention, result.external_id, config, store_ours=True, via=via)

    def _find_earlier_post(
        self,
        reply: Reply,
        owner: str,
        mention: Mention,
        since: datetime,
        config: PlatformConfig,
        timeout: tuple[float, float],
    ) -> tuple[str, SentVia] | SentVia:
        """An earlier attempt may have posted: (its id, how it was found), or how the coming post is
        justified. Raises RetryScheduled while the platform cannot say and its echo may still come."""
        own = self._find_echo(reply, mention, since)
        if own is not None:
            return own
        try:
            found = registry.find_reply(
                reply_target(mention, private=reply.private),
                reply.text,
                since,
                config,
                self.session,
                timeout=timeout,
            )
        except (RetryLater, PermanentFailure) as error:
            if self.now() - since < ECHO_WAIT:
                reason = f"waiting for the platform's echo; its look-up failed: {error.reason}"
                self.replies.release(reply, owner, error=reason, maybe_delivered_since=since)
                raise RetryScheduled(ECHO_RECHECK_S, reason) from None
            logger.warning("no echo came and the look-up failed: posting again", reply_id=reply.reply_id)
            return SentVia.POSTED_AFTER_ECHO_WAIT
        if found is not None:
            return found, SentVia.LOOKUP
        return SentVia.POSTED_AFTER_LOOKUP

    # ---- outcomes
    def _record_sent(
        self,
        reply: Reply,
        owner: str,
        mention: Mention,
        platform_reply_id: str,
        config: PlatformConfig,
        *,
        store_ours: bool,
        via: SentVia = SentVia.POSTED,
    ) -> None:
        sent_at = self.now()
        seconds = max(0, int((sent_at - mention.created_at).total_seconds()))
        # One transaction: the platform's id stored as ours (the webhook's echo of this post then dedups
        # against it, and a sender that takes over finds it), the reply sent, the mention answered.
        ours = self._our_mention(reply, mention, platform_reply_id, config, sent_at) if store_ours else None
        record = self.replies.mark_sent(
            reply,
            owner,
            platform_reply_id,
            sent_at,
            mention=mention,
            first_response_seconds=seconds,
            ours=ours,
            via=via.value,
        )
        if not record.marked:
            logger.error(
                "lost the lease while posting: another sender may post this reply too",
                reply_id=reply.reply_id,
            )
        first = record.first_answer
        if reply.private and reply.public_line and record.marked:
            self._post_public_line(reply, mention, config)
        if reply.via == "sms" and record.marked:
            self._confirm_text(reply, mention)
        if reply.via == "email" and record.marked:
            self._confirm_email(reply, mention)
        metrics.add_metric(name="RepliesSent", unit=MetricUnit.Count, value=1)
        platform_metrics(
            mention.platform,
            counts={"RepliesSent": 1},
            seconds={"FirstResponseTime": seconds} if first and seconds is not None else None,
        )
        logger.info(
            "reply sent",
            reply_id=reply.reply_id,
            mention_id=mention.id,
            platform=mention.platform,
            first_response=first,
            first_response_seconds=seconds if first else None,
        )

    def _post_public_line(self, reply: Reply, mention: Mention, config: PlatformConfig) -> None:
        """The short public line that goes with a private answer ("We've sent you a DM"), once the private
        answer is out. The answer is sent already: a failed line is logged and the agent told, never a
        reason to send the private answer again."""
        try:
            result = registry.post_reply(
                reply_target(mention), reply.public_line or "", config, self.session, timeout=self.timeout
            )
        except (RetryLater, PermanentFailure) as error:
            logger.warning("the public line was not posted", reply_id=reply.reply_id, reason=error.reason)
            if reply.agent_phone:
                message = f"Your private answer went out; its public line could not be posted: {error.reason}"
                self.notifier.text_agent(reply.agent_phone, message)
            return
        self.replies.record_public_line(reply, result.external_id)
        logger.info("public line posted", reply_id=reply.reply_id, mention_id=mention.id)

    def _confirm_text(self, reply: Reply, mention: Mention) -> None:
        """A texted answer is confirmed by text, with the UNDO it allows. The reply is sent already: a
        failed confirmation is logged, never a reason to post again."""
        from socialcare.replies.by_text import confirmation_text  # only texted answers need it

        if not reply.agent_phone:
            return
        try:
            config = self.config()
            deletable = registry.can_delete(reply.platform, mention.kind, config)
            label = registry.label(reply.platform, config)
            message = confirmation_text(reply, _customer(mention), deletable, label)
            self.notifier.text_agent(reply.agent_phone, message)
            self.replies.note(reply, "confirmed_at", self.now())
        except Exception as error:
            logger.warning("the posted confirmation text failed", reply_id=reply.reply_id, error=str(error))

    def _confirm_email(self, reply: Reply, mention: Mention) -> None:
        """An emailed answer is confirmed by email; like the text, never a reason to post again."""
        label = registry.label(reply.platform, self.config())
        body = f"Your answer was posted to {_customer(mention)} on {label}:\n\n{reply.text}\n"
        if mention.url:
            body += f"\n{mention.url}\n"
        try:
            self.notifier.email_agent(reply.agent_email, f"Social Care: posted on {label}", body)
            self.replies.note(reply, "confirmed_at", self.now())
        except Exception as error:
            logger.warning("the posted confirmation email failed", reply_id=reply.reply_id, error=str(error))

    def _our_mention(
        self,
        reply: Reply,
        mention: Mention,
        platform_reply_id: str,
        config: PlatformConfig,
        sent_at: datetime,
    ) -> Mention:
        direct = mention.kind is MentionKind.DIRECT_MESSAGE or reply.private
        kind = registry.adapter_for(mention.platform).reply_kind(mention)
        return Mention(
            platform=mention.platform,
            external_id=platform_reply_id,
            kind=MentionKind.DIRECT_MESSAGE if reply.private else kind,
            author=registry.brand(mention.platform, config),
            text=reply.text,
            created_at=sent_at,
            received_at=sent_at,
            thread_key=mention.thread_key,
            in_reply_to=None if direct else mention.external_id,
            conversation_id=mention.conversation_id,
            is_ours=True,
            status=MentionStatus.OURS,
            raw={"reply_id": reply.reply_id, "answered_by": reply.agent_email},
        )

    def _retry_later(
        self,
        reply: Reply,
        owner: str,
        retry: RetryLater,
        maybe_since: datetime | None,
        receive_count: int,
    ) -> None:
        if retry.maybe_delivered and maybe_since is None:
            maybe_since = reply.attempt_started_at
        if reply.attempts >= MAX_ATTEMPTS or receive_count >= MAX_RECEIVE_COUNT - 1:
            reason = f"gave up after {reply.attempts} attempts: {retry.reason}"
            self._fail(reply, owner, PermanentFailure(reason, "gave_up"))
            return
        self.replies.release(reply, owner, error=retry.reason, maybe_delivered_since=maybe_since)
        metrics.add_metric(name="ReplyRetries", unit=MetricUnit.Count, value=1)
        raise RetryScheduled(retry_delay(reply.attempts, retry.retry_after_s, self.rand), retry.reason)

    def _fail(self, reply: Reply, owner: str, failure: PermanentFailure) -> None:
        failed_at = self.now()
        if not self.replies.mark_failed(
            reply, owner, failure.code, failure.reason, failed_at, alert_leads=failure.alert_leads
        ):
            logger.error("lost the lease before recording a failure", reply_id=reply.reply_id)
            return
        metrics.add_metric(name="RepliesFailed", unit=MetricUnit.Count, value=1)
        platform_metrics(reply.platform, counts={"RepliesFailed": 1})
        logger.warning(
            "reply failed", reply_id=reply.reply_id, code=failure.code, alert_leads=failure.alert_leads
        )
        self._mark_mention_failed(reply)
        failed = reply.model_copy(
            update={
                "state": ReplyState.FAILED,
                "failure_code": failure.code,
                "failure_reason": failure.reason,
                "failed_at": failed_at,
                "alert_leads": failure.alert_leads,
            }
        )
        self._follow_up(failed)

    def _mark_mention_failed(self, reply: Reply) -> None:
        """An open mention whose reply failed shows as reply_failed (`mentions list --status reply_failed`);
        it stays on the pending index, so it still escalates. Only from the status it was read with: an
        answer that landed meanwhile (another agent's) keeps the mention answered."""
        mention = self.mentions.get(reply.mention_id)
        if mention is None or mention.status not in OPEN_STATUSES:
            return
        self.mentions.transition(
            mention.id, set_fields={"status": MentionStatus.REPLY_FAILED}, expected={"status": mention.status}
        )

    def _follow_up(self, reply: Reply) -> None:
        """A failed reply's text to its agent and email to the leads, each once. An SNS error fails the
        record, and the redelivered message finds the reply failed and sends what is still missing. A texted
        or emailed answer that was sent by a sender that died before confirming it is confirmed now."""
        if reply.state is ReplyState.SENT and reply.via != "page" and reply.confirmed_at is None:
            mention = self._target_mention(reply)
            if mention is not None:
                (self._confirm_text if reply.via == "sms" else self._confirm_email)(reply, mention)
            return
        if reply.state is not ReplyState.FAILED:
            return
        if reply.agent_notified_at is not None and (not reply.alert_leads or reply.leads_alerted_at):
            return  # everyone was told already
        mention = self._target_mention(reply)
        who = _customer(mention)
        label = registry.label(reply.platform, self.config())
        if reply.agent_notified_at is None:
            if reply.agent_phone:
                link = self.failed_reply_links(reply) if self.failed_reply_links else None
                self.notifier.text_agent(reply.agent_phone, failure_text(reply, who, label, link))
            else:
                logger.warning("no phone number to tell the agent", reply_id=reply.reply_id)
            self.replies.note(reply, "agent_notified_at", self.now())
        if reply.alert_leads and reply.leads_alerted_at is None:
            subject, body = lead_alert(reply, mention, label)
            self.notifier.alert_leads(subject, body)
            self.replies.note(reply, "leads_alerted_at", self.now())

    def _find_echo(self, reply: Reply, mention: Mention, since: datetime) -> tuple[str, SentVia] | None:
        """The platform id of this reply if it was posted already: our own record of it, or its echo."""
        others = {
            other.platform_reply_id
            for other in self.replies.for_mention(reply.mention_id)
            if other.reply_id != reply.reply_id and other.platform_reply_id
        }
        text = _normalized(reply.text)
        earliest = since - ECHO_LOOKBACK
        conversation = self.mentions.conversation(mention.conversation_id) if mention.conversation_id else []
        candidates = [m for m in conversation if m.is_ours and m.received_at >= earliest]
        for candidate in candidates:
            if not candidate.is_ours or candidate.external_id in others:
                continue
            if candidate.raw.get("reply_id") == reply.reply_id:
                return candidate.external_id, SentVia.OWN_RECORD
            if mention.kind is MentionKind.DIRECT_MESSAGE:
                answers = (
                    candidate.kind is MentionKind.DIRECT_MESSAGE
                    and candidate.conversation_id == mention.conversation_id
                )
            else:
                answers = candidate.in_reply_to == mention.external_id
            # X puts the @handles it adds in front of the text: ours is contained, not equal.
            if answers and text and text in _normalized(candidate.text):
                return candidate.external_id, SentVia.ECHO
        return None


def _customer(mention: Mention | None) -> str:
    if mention is None:
        return "the customer"
    author = mention.author
    return author.label if author.handle or author.name else "the customer"


def failure_text(reply: Reply, who: str, label: str, link: str | None = None) -> str:
    """The SMS: what failed and what to do, in at most two segments (the reason is cut to fit). The
    customer's name loses its format characters (bidi controls would reorder the text around it). With
    `link`, the page of the failed reply, where the agent sees their words and can try again."""
    reason = " ".join((reply.failure_reason or reply.failure_code or "refused").split())
    who = " ".join(without_format_characters(who).split())

    def message(cause: str) -> str:
        action = f"See it and try again: {link}" if link else f"Please answer on {label} directly."
        return f"Social Care: your reply to {who[:30]} was NOT posted on {label} ({cause}). {action}"

    for length in range(min(len(reason), 120), 0, -1):
        cause = reason if length == len(reason) else reason[: length - 3].rstrip() + "..."
        if sms_segments(message(cause)) <= MAX_SMS_SEGMENTS:
            return message(cause)
    return message(reply.failure_code or "refused")


def lead_alert(reply: Reply, mention: Mention | None, label: str) -> tuple[str, str]:
    """An email for the leads: ASCII subject under 100 characters, the whole story in the body."""
    subject = f"Social Care: a reply could not be posted on {label} ({reply.failure_code})"
    subject = subject.encode("ascii", "ignore").decode()[:99]
    lines = [
        f"A reply by {reply.agent_name or reply.agent_email} could not be posted on {label}.",
        "",
        f"Reason: {reply.failure_reason}",
        f"Code: {reply.failure_code}",
        "A person must fix this (the platform's token, permissions or configuration) before replies to "
        f"{label} can go out again.",
        "",
        f"Mention: {reply.mention_id}" + (f" ({mention.url})" if mention and mention.url else ""),
        f"Reply id: {reply.reply_id}",
        "",
        "The reply:",
        reply.text,
    ]
    return subject, "\n".join(lines) + "\n"


# ---------------------------------------------------------------- wiring
@dataclass
class SnsNotifier:
    """Texts go to a phone through the SMS sender (socialcare.dispatch.sms: SNS, or the two-way number);
    lead emails
    go through the notification topic, one message per lead with the lead's agent_id attribute, which their
    email subscription's filter policy selects."""

    sns: Any
    topic_arn: str
    agents: AgentStore
    sms: SmsSender | None = None

    def text_agent(self, phone: str, message: str) -> None:
        (self.sms or SnsSmsSender(self.sns)).send(phone, message)

    def email_agent(self, email: str, subject: str, message: str) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={"agent_id": {"DataType": "String", "StringValue": agent_id_for(email)}},
        )

    def alert_leads(self, subject: str, message: str) -> None:
        agents = self.agents.agents()
        leads = [a for a in agents if a.lead and a.active] or [a for a in agents if a.lead]
        if not leads:
            logger.error("no lead to alert: make an agent a lead with the socialcare agents command")
            return
        for lead in leads:
            agent_id = agent_id_for(lead.email)
            self.sns.publish(
                TopicArn=self.topic_arn,
                Subject=subject,
                Message=message,
                MessageAttributes={"agent_id": {"DataType": "String", "StringValue": agent_id}},
            )


class SenderSettings(Table, Notifications, ReplyQueue, PublicUrl, Texting, PlatformSections, FormKey):
    """What posting replies reads: every platform, the queue, whom to tell of a failure, the links in it,
    and the form key that survey links are derived with."""


@one_per_process
def get_reply_sender() -> ReplySender:
    settings = load(SenderSettings)
    shared_table = table(settings.table_name)
    sns = aws_client("sns")
    return ReplySender(
        replies=ReplyStore(shared_table),
        mentions=MentionStore(shared_table),
        config=get_platform_config,
        notifier=SnsNotifier(
            sns, settings.notification_topic_arn, AgentStore(shared_table), sms_sender(settings, sns)
        ),
        sqs=aws_client("sqs"),
        queue_url=settings.reply_queue_url,
        session=requests.Session(),  # kept warm between invocations: one TLS handshake per platform
        survey_links=source_survey_links(SurveyStore(shared_table), settings.public_base_url),
        failed_reply_links=failed_reply_links(TokenStore(shared_table), settings.public_base_url),
    )


def failed_reply_links(tokens: TokenStore, base_url: str) -> Callable[[Reply], str | None]:
    """A fresh link to a failed reply's page for its agent (the raw token of the first link is not kept)."""

    def link(reply: Reply) -> str | None:
        if not base_url:
            return None
        token = tokens.create_for_failed_reply(reply.mention_id, reply.agent_email, reply.reply_id, utc_now())
        return f"{base_url.rstrip('/')}/r/{token}"

    return link
