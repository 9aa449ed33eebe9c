"""Dispatch: a new customer mention gets a priority, an agent on shift and a text with its reply link.

The steps, each safe to repeat (the table stream delivers at least once, SNS calls fail, and the escalation
sweep may dispatch the same mention concurrently):

1. Decide (socialcare.routing): sticky agent of the conversation, else round robin among agents on shift with
   room, else the leads; nobody at all -> the mention is recorded as waiting and stays pending for the sweep.
2. Write a notice (who is told at level 0). The first writer wins, so concurrent runs tell the same people.
3. Record the assignment on the mention with one conditional transition (expected: the status it had). The
   loser of a race stops here.
4. Deliver the notice: per recipient, an SMS and an email, each behind Powertools idempotency keyed on
   (mention, level, agent, channel), so a repeated delivery never texts twice and a failed call is retried.
   Any failure raises NotificationFailed; the notice stays undelivered for the next attempt.

Everything takes `now` explicitly: tests run it with a controlled clock."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore, agent_id_for, get_agent_store
from socialcare.data.dispatch import DispatchStore, Notice, get_dispatch_store
from socialcare.data.mentions import PENDING_INDEX_KEY, MentionStore
from socialcare.data.tokens import TokenStore, get_token_store
from socialcare.models import Agent, Mention, MentionStatus
from socialcare.models import mention_id as make_mention_id
from socialcare.notification import email_body, email_subject, sms_text
from socialcare.observability import logger
from socialcare.routing import DEFAULT_DEADLINES, Priority, choose_assignee, classify_priority, guess_language
from socialcare.settings import Settings, get_settings
from socialcare.shifts import is_on_shift

# A notification must not be sent twice while the stream or the sweep may still retry it.
IDEMPOTENCY_TTL = timedelta(days=2)
IDEMPOTENCY_PARTITION = "IDEMPOTENCY#notify"
# Statuses in which an assignment still counts against an agent's capacity.
OPEN_STATUSES = (MentionStatus.ASSIGNED, MentionStatus.OPENED)
CLOSED_STATUSES = (
    MentionStatus.OPENED,
    MentionStatus.ANSWERED,
    MentionStatus.DELETED,
    MentionStatus.REMOVED,
    MentionStatus.OURS,
)
# An Instagram mention may arrive before its text (socialcare.enrichment): it waits this long for it.
TEXT_WAIT = timedelta(minutes=5)
CONVERSATION_IN_EMAIL = 20  # earlier mentions of the conversation shown in the email


class NotificationFailed(Exception):
    """At least one text or email of a notice could not be sent; the notice stays undelivered."""


def mask_phone(phone: str) -> str:
    """+14155550123 -> +141******23: enough to tell numbers apart in logs, not enough to call."""
    return phone[:4] + "*" * max(0, len(phone) - 6) + phone[-2:] if len(phone) > 6 else "***"


def deadlines_of(settings: Settings) -> dict[Priority, timedelta]:
    configured = settings.escalation_deadlines
    return {priority: configured.get(priority.value, DEFAULT_DEADLINES[priority]) for priority in Priority}


@dataclass(frozen=True)
class Outcome:
    """What dispatch did with one mention (logged, counted, asserted in tests)."""

    mention_id: str
    result: str  # assigned | waiting | already_assigned | closed | lost_race | missing | ignored
    recipients: tuple[str, ...] = ()
    via: str = ""
    reason: str = ""


class _FallbackContext:
    """Until a handler registers its Lambda context, in-progress idempotency records expire after a minute,
    so a crashed attempt never blocks a notification for longer."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Notifier:
    """Sends one notice's texts and emails, each exactly once per (mention, level, agent, channel)."""

    def __init__(self, settings: Settings, tokens: TokenStore, sns: Any, idempotency_table: str) -> None:
        if not settings.public_base_url:
            raise ValueError("PUBLIC_BASE_URL is not set: reply links would have no address")
        if not settings.notification_topic_arn:
            raise ValueError("NOTIFICATION_TOPIC_ARN is not set: emails to agents would have nowhere to go")
        self._settings = settings
        self._tokens = tokens
        self._sns = sns
        self.config = IdempotencyConfig(
            expires_after_seconds=int(IDEMPOTENCY_TTL.total_seconds()),
            lambda_context=cast(LambdaContext, _FallbackContext()),
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=idempotency_table,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=IDEMPOTENCY_PARTITION,  # shared by the dispatcher and the escalation job
            expiry_attr="expires_at",  # the table's TTL attribute
        )
        self._send_once = idempotent_function(
            self._send,
            data_keyword_argument="notification",
            persistence_store=persistence,
            config=self.config,
            key_prefix="notify",  # not the function's name: both functions must share the keys
        )

    @property
    def sns(self) -> Any:
        return self._sns

    def register_lambda_context(self, context: LambdaContext) -> None:
        self.config.register_lambda_context(context)

    def link(self, token: str) -> str:
        return f"{self._settings.public_base_url.rstrip('/')}/r/{token}"

    def send(
        self,
        channel: str,
        mention: Mention,
        recipient: AgentRecord,
        level: int,
        conversation: list[Mention],
        now: datetime,
    ) -> None:
        self._send_once(
            notification={
                "mention_id": mention.id,
                "level": level,
                "agent_id": recipient.agent_id,
                "channel": channel,
            },
            mention=mention,
            recipient=recipient,
            conversation=conversation,
            now=now,
        )

    def _send(
        self,
        notification: dict[str, Any],
        mention: Mention,
        recipient: AgentRecord,
        conversation: list[Mention],
        now: datetime,
    ) -> dict[str, str]:
        token = self._tokens.create(mention.id, recipient.email, now, self._settings.reply_link_ttl)
        link = self.link(token)
        level = int(notification["level"])
        if notification["channel"] == "sms":
            phone = recipient.agent.phone
            answer = self._sns.publish(
                PhoneNumber=phone,
                Message=sms_text(mention, link),
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
                },
            )
            logger.info(
                "text sent",
                mention_id=mention.id,
                escalation_level=level,
                agent_id=recipient.agent_id,
                phone=mask_phone(phone),
            )
        else:
            body = email_body(mention, conversation, link)
            if level > 0:
                body = f"Escalation level {level}: nobody has opened this mention yet.\n\n" + body
            answer = self._sns.publish(
                TopicArn=self._settings.notification_topic_arn,
                Subject=email_subject(mention),
                Message=body,
                MessageAttributes={"agent_id": {"DataType": "String", "StringValue": recipient.agent_id}},
            )
            logger.info(
                "email sent", mention_id=mention.id, escalation_level=level, agent_id=recipient.agent_id
            )
        return {"message_id": str(answer.get("MessageId", ""))}


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        mentions: MentionStore,
        agents: AgentStore,
        store: DispatchStore,
        notifier: Notifier,
    ) -> None:
        self.settings = settings
        self.mentions = mentions
        self.agents = agents
        self.store = store
        self.notifier = notifier
        self.deadlines = deadlines_of(settings)

    # ---------------------------------------------------------------- dispatch
    def dispatch(self, mention_id: str, now: datetime) -> Outcome:
        """Assign and notify one mention that is new or waiting. Raises NotificationFailed (after recording
        the assignment) when a text or email could not be sent: calling again later finishes the delivery."""
        mention = self.mentions.get(mention_id)
        if mention is None:
            logger.warning("mention to dispatch not found", mention_id=mention_id)
            return Outcome(mention_id, "missing")
        if mention.is_ours:
            return Outcome(mention_id, "ignored")
        if mention.status is MentionStatus.ASSIGNED:
            self.resume_delivery(mention, now)  # a redelivered record: finish what an earlier attempt began
            return Outcome(mention_id, "already_assigned", tuple(mention.assigned_to))
        if mention.status not in (MentionStatus.NEW, MentionStatus.WAITING):
            return Outcome(mention_id, "closed")

        priority = classify_priority(mention)  # again each time: a waiting mention may have its text now
        if mention.text_pending and now - mention.received_at < TEXT_WAIT:
            # An Instagram mention whose text is still being fetched: a text without it helps nobody.
            return self._wait(mention, priority, "its text is not fetched yet", now)
        language = guess_language(mention.text)
        candidates = self.agents.agents()
        sticky = self.store.conversation_agent(mention.conversation_id) if mention.conversation_id else None
        assignment = choose_assignee(
            mention.platform,
            language,
            candidates,
            self.open_counts(agent for agent in candidates if agent.active and is_on_shift(agent, now)),
            self.settings.max_open_assignments,
            self.store.last_assigned(),
            sticky,
            now,
        )
        if not assignment.agents:
            return self._wait(mention, priority, assignment.reason, now)

        chosen = [agent.email for agent in assignment.agents]
        notice = self.store.create_notice(mention.id, 0, chosen, assignment.reason, now)
        recorded = self.mentions.transition(
            mention.id,
            set_fields={
                "status": MentionStatus.ASSIGNED,
                "assigned_to": notice.recipients,
                "priority": priority,
                "notified_at": now,
                "escalation_level": 0,
                "gsi2pk": PENDING_INDEX_KEY,
                "gsi2sk": now + self.deadlines[priority],  # when level 1 is due
            },
            remove_fields=("waiting_reason",),
            expected={"status": mention.status},
        )
        if not recorded:
            logger.info("mention assigned by a concurrent run", mention_id=mention.id)
            return Outcome(mention.id, "lost_race")
        via = assignment.via if notice.recipients == chosen else "earlier_notice"
        self._remember(mention, notice.recipients, via, now)
        logger.info(
            "mention assigned",
            mention_id=mention.id,
            priority=priority.value,
            via=via,
            reason=notice.reason,
            recipients=[agent_id_for(email) for email in notice.recipients],
        )
        assigned = mention.model_copy(
            update={"status": MentionStatus.ASSIGNED, "priority": priority.value, "notified_at": now}
        )
        self.deliver(notice, assigned, now)
        return Outcome(mention.id, "assigned", tuple(notice.recipients), via, notice.reason)

    def _wait(self, mention: Mention, priority: Priority, reason: str, now: datetime) -> Outcome:
        """Nobody can be told yet: the mention waits, due at once, so every sweep tries again."""
        self.mentions.transition(
            mention.id,
            set_fields={
                "status": MentionStatus.WAITING,
                "waiting_reason": reason,
                "priority": priority,
                "gsi2pk": PENDING_INDEX_KEY,
                "gsi2sk": now,
            },
            expected={"status": mention.status},
        )
        logger.warning("mention waits", mention_id=mention.id, reason=reason)
        return Outcome(mention.id, "waiting", reason=reason)

    def _remember(self, mention: Mention, recipients: list[str], via: str, now: datetime) -> None:
        """Bookkeeping after an assignment: the conversation's agent, the round robin cursor, capacity."""
        single = recipients[0] if len(recipients) == 1 and via in ("sticky", "round_robin") else None
        if mention.conversation_id:
            self.store.record_in_conversation(mention.conversation_id, mention.id, single, now)
        if via == "round_robin" and single:
            self.store.set_last_assigned(single, now)
        for email in recipients:
            self.store.add_open(email, mention.id, now)

    def open_counts(self, agents: Iterable[Agent]) -> dict[str, int]:
        """Open (assigned or opened, not answered) mentions per agent. Assignments whose mention was answered
        or is gone are closed on the way, so the counts heal themselves whoever closed the mention."""
        open_ids = {agent.email: self.store.open_mention_ids(agent.email) for agent in agents}
        every_id = {mention_id for ids in open_ids.values() for mention_id in ids}
        found = self.mentions.get_many(every_id) if every_id else {}
        counts: dict[str, int] = {}
        for email, ids in open_ids.items():
            counts[email] = 0
            for mention_id in ids:
                mention = found.get(mention_id)
                if mention is not None and mention.status in OPEN_STATUSES:
                    counts[email] += 1
                else:
                    self.store.close_open(email, mention_id)
        return counts

    # ---------------------------------------------------------------- delivery
    def resume_delivery(self, mention: Mention, now: datetime) -> None:
        """Deliver whatever notice of this mention, up to its current level, is still undelivered."""
        for level in range(mention.escalation_level + 1):
            notice = self.store.notice(mention.id, level)
            if notice is not None and notice.delivered_at is None:
                self.deliver(notice, mention, now)

    def deliver(self, notice: Notice, mention: Mention, now: datetime) -> None:
        """Text and email every recipient of the notice. Each send happens once, however often this runs;
        raises NotificationFailed if any failed (after trying the others)."""
        if notice.delivered_at is not None:
            return
        conversation = self.conversation_so_far(mention)
        failures: list[str] = []
        for email in notice.recipients:
            recipient = self.agents.get(email)
            if recipient is None or not recipient.agent.active:
                logger.warning(
                    "recipient no longer active; skipped",
                    mention_id=mention.id,
                    escalation_level=notice.level,
                )
                continue
            for channel in ("sms", "email"):
                try:
                    self.notifier.send(channel, mention, recipient, notice.level, conversation, now)
                except Exception as error:  # any failure leaves the notice for a retry
                    failures.append(f"{channel} to {recipient.agent_id}: {type(error).__name__}")
                    logger.warning(
                        "notification failed; will retry",
                        mention_id=mention.id,
                        escalation_level=notice.level,
                        agent_id=recipient.agent_id,
                        channel=channel,
                        error=str(error),
                    )
        if failures:
            raise NotificationFailed(f"mention {mention.id} level {notice.level}: " + "; ".join(failures))
        self.store.mark_delivered(mention.id, notice.level, now)

    def conversation_so_far(self, mention: Mention) -> list[Mention]:
        """The conversation's latest mentions before this one (ours included), oldest first, for the email."""
        if not mention.conversation_id:
            return []
        everything = self.mentions.conversation(mention.conversation_id)
        return [m for m in everything if m.id != mention.id][-CONVERSATION_IN_EMAIL:]


def mention_id_of_stream_image(image: Mapping[str, Any]) -> str | None:
    """The mention id in a table stream record's NewImage, or None if the item is not a mention."""
    if image.get("entity") != "mention" or not image.get("platform") or not image.get("external_id"):
        return None
    return make_mention_id(str(image["platform"]), str(image["external_id"]))


def build_dispatcher(settings: Settings, sns: Any | None = None) -> Dispatcher:
    resource = table(settings.table_name)
    notifier = Notifier(settings, TokenStore(resource), sns or boto3.client("sns"), settings.table_name)
    return Dispatcher(
        settings, MentionStore(resource), AgentStore(resource), DispatchStore(resource), notifier
    )


@lru_cache(maxsize=1)
def get_dispatcher() -> Dispatcher:
    """The dispatcher of this execution environment (clients and stores created once)."""
    return build_dispatcher(get_settings())


def clear_caches() -> None:
    """Forget the cached dispatcher and stores of this module and its data modules (tests change the
    environment from one case to the next)."""
    get_dispatcher.cache_clear()
    get_agent_store.cache_clear()
    get_dispatch_store.cache_clear()
    get_token_store.cache_clear()
