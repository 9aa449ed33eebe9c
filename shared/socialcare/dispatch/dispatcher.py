"""Dispatch: a new customer mention gets a priority, an agent on shift and a text with its reply link.

The steps, each safe to repeat (the table stream delivers at least once, SNS calls fail, and the escalation
sweep may dispatch the same mention concurrently):

1. Read (two Queries): the roster (agents, the round robin cursor and open counts, one gsi1 partition)
   and the conversation (its mentions: the email's history, and which agent the conversation sticks to). A
   mention from the table stream comes with its stored image, so it is not read again.
2. Decide (socialcare.dispatch.routing): sticky agent of the conversation, else round robin among agents on
shift with
   room, else the leads; nobody at all -> the mention is recorded as waiting and stays pending for the sweep.
3. Record the assignment in one transaction (socialcare.data.dispatch.DispatchStore.assign): the mention's
   transition (expected: the status it was read with), the notice (who is told at level 0, claimed by this
   run), the conversation's agent, the cursor, the open assignments and the reply links. Everything read in 1
   from an index is checked by the transaction's conditions; a stale read is retried with consistent reads.
   The loser of a race (or a redelivered record) stops here: the mention's condition fails.
4. Deliver the notice: per recipient and channel one SNS publish; what went out to a recipient is recorded
   on the notice in one write right after it, so a repeated delivery never sends it twice and a failed one is
   retried; retries claim the notice first, so two runs never deliver it at once. Any failure raises
   NotificationFailed; the notice stays undelivered for the next attempt (the stream's retry, or the
   escalation sweep).

Everything takes `now` explicitly: tests run it with a controlled clock."""

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore, agent_id_for, get_agent_store
from socialcare.data.dispatch import (
    AssignmentConflict,
    AssignmentWrite,
    ConversationHistory,
    DispatchStore,
    Notice,
    Roster,
    get_dispatch_store,
)
from socialcare.data.mentions import MentionStore, mention_id_of_image, mention_of_image
from socialcare.data.reply_addresses import ReplyAddressStore
from socialcare.data.sms_codes import AlertCodeStore
from socialcare.data.tokens import TokenStore, get_token_store, new_reply_link
from socialcare.dispatch.notices import REPLY_ABOVE, email_body, email_subject, sms_text
from socialcare.dispatch.routing import (
    DEFAULT_DEADLINES,
    Assignment,
    Priority,
    choose_assignee,
    classify_priority,
    guess_language,
)
from socialcare.dispatch.sms import SmsSender, sms_sender
from socialcare.errors import StorageUnavailable
from socialcare.models import Agent, Mention, MentionStatus
from socialcare.observability import logger
from socialcare.people.shifts import can_be_texted, is_on_shift
from socialcare.replies.tokens import hash_token
from socialcare.settings import Settings, get_settings

if TYPE_CHECKING:  # socialcare.dispatch.mail is imported only when emails go through SES (ReplyEmailDomain)
    from socialcare.dispatch.mail import SesMailer

# Statuses in which an assignment still counts against an agent's capacity.
OPEN_STATUSES = (MentionStatus.ASSIGNED, MentionStatus.OPENED)
CLOSED_STATUSES = (
    MentionStatus.OPENED,
    MentionStatus.ANSWERED,
    MentionStatus.DELETED,
    MentionStatus.REMOVED,
    MentionStatus.OURS,
)
# An Instagram mention may arrive before its text (socialcare.ingest.enrichment): it waits this long for it.
TEXT_WAIT = timedelta(minutes=5)
CONVERSATION_IN_EMAIL = 20  # earlier mentions of the conversation shown in the email
CHANNELS = ("sms", "email")
# A delivery attempt holds its notice this long when no Lambda context says how long the run has left.
DEFAULT_CLAIM = timedelta(minutes=1)
# Attempts at recording one assignment when what was read turns out stale (each re-reads what was).
ASSIGN_ATTEMPTS = 4
# How long this process trusts its own recent writes over what the (eventually consistent) index shows.
RECENT_WRITES = 30.0  # seconds
# How long a read roster (agents, cursor, open counts) serves the next mentions: a burst costs one Query, not
# one per mention. What the transaction checks (the cursor) is re-read when it turns out stale; an agent
# added or taken off shift is seen this much later at most.
ROSTER_REUSE = 5.0  # seconds


# What SNS answers for a message it will never send (a number it cannot text, a message too long): retrying
# cannot help, so such a notification is recorded as failed and the leads are told instead.
PERMANENT_SNS_ERRORS = frozenset(
    {
        "InvalidParameter",
        "InvalidParameterValue",
        # The same from End User Messaging SMS (a number it cannot text, or one that opted out: Conflict)
        # and SES (a message it rejects), which send instead with SmsOriginationNumber and ReplyEmailDomain.
        "ValidationException",
        "ConflictException",
        "MessageRejected",
    }
)


def never_succeeds(error: Exception) -> bool:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in PERMANENT_SNS_ERRORS
    return isinstance(error, ValueError)  # an SMS the reply link cannot fit in (socialcare.dispatch.notices)


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


class Notifier:
    """Sends notifications (one SNS publish each) and says how long a delivery attempt may hold a notice."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenStore,
        sns: Any,
        codes: AlertCodeStore | None = None,
        sms: SmsSender | None = None,
        addresses: ReplyAddressStore | None = None,
        mailer: "SesMailer | None" = None,
    ) -> None:
        if not settings.public_base_url:
            raise ValueError("PUBLIC_BASE_URL is not set: reply links would have no address")
        if not settings.notification_topic_arn:
            raise ValueError("NOTIFICATION_TOPIC_ARN is not set: emails to agents would have nowhere to go")
        self._settings = settings
        self.tokens = tokens
        self._sns = sns
        # Text back is on when the two-way number is set: each alert then names a code
        # (socialcare.replies.by_text).
        self._codes = codes if settings.sms_origination_number else None
        self._sms = sms or sms_sender(settings, sns)
        # Reply to the email is on when ReplyEmailDomain is set: emails go through SES with a reply address.
        self._addresses = addresses if settings.reply_email_domain else None
        self._mailer = mailer
        if self._addresses is not None and mailer is None:
            from socialcare.dispatch.mail import ses_mailer

            self._mailer = ses_mailer()
        self._context: LambdaContext | None = None

    @property
    def sns(self) -> Any:
        return self._sns

    def register_lambda_context(self, context: LambdaContext) -> None:
        self._context = context

    def claim_window(self) -> timedelta:
        """How long a delivery attempt holds its notice: what is left of this invocation (a run that times
        out never blocks the notice for longer), else a minute."""
        if self._context is not None:
            try:
                return timedelta(milliseconds=max(1000, int(self._context.get_remaining_time_in_millis())))
            except Exception:  # noqa: S110 - a context without the method: the default will do
                pass
        return DEFAULT_CLAIM

    def link(self, token: str) -> str:
        return f"{self._settings.public_base_url.rstrip('/')}/r/{token}"

    def send(
        self,
        channel: str,
        mention: Mention,
        recipient: AgentRecord,
        level: int,
        conversation: list[Mention],
        link: str,
        now: datetime | None = None,
    ) -> None:
        if channel == "sms":
            phone = recipient.agent.phone
            code = None
            if self._codes is not None:
                token = link.rsplit("/", 1)[-1]  # the link ends in its token: /r/<token>
                code = self._codes.issue(
                    phone,
                    mention.id,
                    recipient.email,
                    hash_token(token),
                    now or mention.received_at,
                    self._settings.reply_link_ttl,
                )
            self._sms.send(phone, sms_text(mention, link, code))
            logger.info(
                "text sent",
                mention_id=mention.id,
                escalation_level=level,
                agent_id=recipient.agent_id,
                phone=mask_phone(phone),
            )
            return
        note = None
        if level > 0 and mention.status is MentionStatus.OPENED:
            note = f"Escalation level {level}: an agent is on it, but nobody has answered it yet."
        elif level > 0:
            note = f"Escalation level {level}: nobody has opened this mention yet."
        body = email_body(mention, conversation, link, note)
        if self._addresses is not None and self._mailer is not None:
            domain = self._settings.reply_email_domain
            reply_token = self._addresses.issue(
                mention.id,
                recipient.email,
                hash_token(link.rsplit("/", 1)[-1]),
                now or mention.received_at,
                self._settings.reply_link_ttl,
            )
            from socialcare.dispatch.mail import notification_message

            body = f"{REPLY_ABOVE}\n\n{body}"
            subject = email_subject(mention)
            self._mailer.send(notification_message(domain, recipient.email, reply_token, subject, body))
            logger.info("email sent with a reply address", mention_id=mention.id, agent_id=recipient.agent_id)
            return
        self._sns.publish(
            TopicArn=self._settings.notification_topic_arn,
            Subject=email_subject(mention),
            Message=body,
            MessageAttributes={"agent_id": {"DataType": "String", "StringValue": recipient.agent_id}},
        )
        logger.info("email sent", mention_id=mention.id, escalation_level=level, agent_id=recipient.agent_id)

    def alert_leads(self, agents: Iterable[Agent], subject: str, message: str) -> None:
        """One email per active lead (their subscription's filter policy selects their agent_id)."""
        leads = [agent for agent in agents if agent.lead and agent.active]
        if not leads:
            logger.error("no lead to alert: make an agent a lead with the socialcare agents command")
        for lead in leads:
            self._sns.publish(
                TopicArn=self._settings.notification_topic_arn,
                Subject=subject,
                Message=message,
                MessageAttributes={
                    "agent_id": {"DataType": "String", "StringValue": agent_id_for(lead.email)}
                },
            )


@dataclass
class _Prepared:
    """What the run that recorded an assignment already has for its delivery: no need to read it again."""

    claim_id: str
    recipients: dict[str, AgentRecord]
    links: dict[str, str]  # email -> reply link token
    conversation: list[Mention]


@dataclass
class _RecentWrites:
    """This process's own recent writes, merged into what it reads from the eventually consistent index, so
    a batch of mentions handled one after the other sees its own assignments at once. Only a hint: the
    transaction checks the cursor and the conversation's agent; open counts were never exact across runs."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cursor: tuple[float, str] | None = None
    conversations: dict[str, tuple[float, str]] = field(default_factory=dict)
    open: dict[str, dict[str, float]] = field(default_factory=dict)  # email -> mention id -> when

    def _fresh(self, at: float) -> bool:
        return time.monotonic() - at < RECENT_WRITES

    def remember(self, write: AssignmentWrite) -> None:
        now = time.monotonic()
        with self.lock:
            if write.cursor:
                self.cursor = (now, write.cursor)
            if write.conversation_id and write.conversation_agent:
                self.conversations[write.conversation_id] = (now, write.conversation_agent)
            for email in write.recipients:
                self.open.setdefault(email, {})[write.mention_id] = now
            self.conversations = {k: v for k, v in self.conversations.items() if self._fresh(v[0])}
            self.open = {
                email: {m: at for m, at in ids.items() if self._fresh(at)} for email, ids in self.open.items()
            }

    def forget_open(self, email: str, mention_id: str) -> None:
        with self.lock:
            self.open.get(email, {}).pop(mention_id, None)

    def cursor_or(self, read: str | None) -> str | None:
        with self.lock:
            return self.cursor[1] if self.cursor and self._fresh(self.cursor[0]) else read

    def conversation_agent_or(self, conversation_id: str, read: str | None) -> str | None:
        with self.lock:
            mine = self.conversations.get(conversation_id)
            return mine[1] if mine and self._fresh(mine[0]) else read

    def open_count(self, email: str) -> int:
        with self.lock:
            return sum(1 for at in self.open.get(email, {}).values() if self._fresh(at))

    def open_ids(self, email: str, read: Iterable[str]) -> list[str]:
        with self.lock:
            mine = [m for m, at in self.open.get(email, {}).items() if self._fresh(at)]
        return list(dict.fromkeys([*read, *mine]))


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
        self._recent = _RecentWrites()
        self._roster: tuple[float, Roster] | None = None

    def roster(self) -> Roster:
        """The roster, read at most once per ROSTER_REUSE seconds (this process's own assignments since are
        merged in by _RecentWrites)."""
        read = self._roster
        if read is not None and time.monotonic() - read[0] < ROSTER_REUSE:
            return read[1]
        roster = self.store.roster()
        self._roster = (time.monotonic(), roster)
        return roster

    # ---------------------------------------------------------------- dispatch
    def dispatch(self, mention_id: str, now: datetime, stored: Mention | None = None) -> Outcome:
        """Assign and notify one mention that is new or waiting. Raises NotificationFailed (after recording
        the assignment) when a text or email could not be sent: calling again later finishes the delivery.

        `stored` is the mention as the table stream delivered it: not read again, but not trusted either (the
        record may be a redelivery, the text may have been edited since); the assignment's transaction expects
        its status and text, and when they changed the mention is read and dispatched as it is now."""
        unverified = stored is not None
        mention = stored if stored is not None else self.mentions.get(mention_id)
        if mention is None:
            logger.warning("mention to dispatch not found", mention_id=mention_id)
            return Outcome(mention_id, "missing")
        if unverified and mention.status not in (MentionStatus.NEW, MentionStatus.WAITING):
            return self.dispatch(mention_id, now)
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

        roster = self.roster()
        history = (
            self.store.conversation_history(mention.conversation_id)
            if mention.conversation_id and not starts_its_thread(mention)
            else ConversationHistory()
        )
        sticky = (
            self._recent.conversation_agent_or(mention.conversation_id, history.agent(leave_out=mention.id))
            if mention.conversation_id
            else None
        )
        cursor = self._recent.cursor_or(roster.last_assigned)
        expected: dict[str, Any] = {"status": mention.status}
        if unverified:
            expected["text"] = mention.text
        for _attempt in range(ASSIGN_ATTEMPTS):
            candidates = [record.agent for record in roster.agents]
            working = [agent for agent in candidates if can_be_texted(agent, now) and is_on_shift(agent, now)]
            assignment = choose_assignee(
                mention.platform,
                language,
                candidates,
                self.open_counts(roster, working),
                self.settings.max_open_assignments,
                cursor,
                sticky,
                now,
            )
            if not assignment.agents:
                return self._wait(mention, priority, assignment.reason, now)
            write, links = self._assignment(mention, priority, assignment, now)
            write.expected = expected
            write.conversation_agent_seen, write.cursor_seen = sticky, cursor
            try:
                self.store.assign(write, now)
            except AssignmentConflict as conflict:
                if "mention" in conflict.parts:
                    if unverified:  # redelivered, edited, or dispatched by someone else: look again
                        return self.dispatch(mention_id, now)
                    logger.info("mention assigned by a concurrent run", mention_id=mention.id)
                    return Outcome(mention.id, "lost_race")
                # The index was behind: read what the decision depends on consistently and decide again.
                logger.info("assignment read stale routing data; deciding again", mention_id=mention.id)
                if "conversation" in conflict.parts and mention.conversation_id:
                    sticky = self.store.conversation_agent(mention.conversation_id)
                    history = self.store.conversation_history(mention.conversation_id)
                if "cursor" in conflict.parts:
                    cursor = self.store.last_assigned()
                continue
            break
        else:
            raise StorageUnavailable(f"mention {mention.id}: routing data kept changing; will retry")

        self._recent.remember(write)
        recipients = write.recipients
        logger.info(
            "mention assigned",
            mention_id=mention.id,
            priority=priority.value,
            via=assignment.via,
            reason=assignment.reason,
            recipients=[agent_id_for(email) for email in recipients],
        )
        assigned = mention.model_copy(
            update={
                "status": MentionStatus.ASSIGNED,
                "priority": priority.value,
                "notified_at": now,
                "assigned_to": recipients,
                "escalation_level": 0,
            }
        )
        by_email = {record.email: record for record in roster.agents}
        prepared = _Prepared(
            claim_id=write.claim_id,
            recipients={email: by_email[email] for email in recipients if email in by_email},
            links=links,
            conversation=_earlier(history.mentions, mention.id),
        )
        self.deliver(write.notice, assigned, now, prepared=prepared)
        return Outcome(mention.id, "assigned", tuple(recipients), assignment.via, assignment.reason)

    def _assignment(
        self, mention: Mention, priority: Priority, assignment: Assignment, now: datetime
    ) -> tuple[AssignmentWrite, dict[str, str]]:
        """What recording this assignment writes, and the reply link token per recipient."""
        recipients = [agent.email for agent in assignment.agents]
        via = assignment.via
        # The conversation's agent, the round robin cursor: only a single agent picked by stickiness or round
        # robin becomes them (leads answering an overflow do not).
        single = recipients[0] if len(recipients) == 1 and via in ("sticky", "round_robin") else None
        links: dict[str, str] = {}
        link_items = []
        for email in recipients:
            token, item = new_reply_link(mention.id, email, now, self.settings.reply_link_ttl)
            links[email] = token
            link_items.append(item)
        set_fields: dict[str, Any] = {
            "status": MentionStatus.ASSIGNED,
            "assigned_to": recipients,
            "priority": priority,
            "notified_at": now,
            "escalation_level": 0,
        }
        claimed_until = now + self.notifier.claim_window()
        write = AssignmentWrite(
            mention_id=mention.id,
            expected={},
            set_fields=set_fields,
            remove_fields=("waiting_reason",),
            notice=Notice(mention.id, 0, recipients, assignment.reason, now),
            claim_id=uuid.uuid4().hex,
            claimed_until=claimed_until,
            recipients=recipients,
            conversation_id=mention.conversation_id,
            conversation_agent=single if mention.conversation_id else None,
            cursor=single if via == "round_robin" else None,
            reply_links=link_items,
            escalate_at=now + self.deadlines[priority],  # when level 1 is due
        )
        return write, links

    def _wait(self, mention: Mention, priority: Priority, reason: str, now: datetime) -> Outcome:
        """Nobody can be told yet: the mention waits, due at once, so every sweep tries again."""
        self.mentions.transition(
            mention.id,
            set_fields={
                "status": MentionStatus.WAITING,
                "waiting_reason": reason,
                "priority": priority,
            },
            expected={"status": mention.status},
            escalate_at=now,
        )
        logger.warning("mention waits", mention_id=mention.id, reason=reason)
        return Outcome(mention.id, "waiting", reason=reason)

    def open_counts(self, roster: Roster, agents: Iterable[Agent]) -> dict[str, int]:
        """Open (assigned or opened, not answered) mentions per agent, as far as routing needs them: it only
        asks whether an agent has fewer than max_open. An agent whose open count is below that has room
        whatever became of its assignments; only for the others are the assignments and their mentions read,
        and assignments whose mention was answered or is gone are closed on the way, so the counts heal
        themselves whoever closed it."""
        limit = self.settings.max_open_assignments
        counts: dict[str, int] = {}
        to_check: dict[str, list[str]] = {}
        for agent in agents:
            count = max(roster.open_counts.get(agent.email, 0), self._recent.open_count(agent.email))
            if count < limit:
                counts[agent.email] = count
            else:
                to_check[agent.email] = self._recent.open_ids(agent.email, self.store.open_ids(agent.email))
        every_id = {mention_id for ids in to_check.values() for mention_id in ids}
        found = self.mentions.get_many(every_id) if every_id else {}
        for email, ids in to_check.items():
            counts[email] = 0
            for mention_id in ids:
                mention = found.get(mention_id)
                if mention is not None and mention.status in OPEN_STATUSES:
                    counts[email] += 1
                else:
                    self.store.close_open(email, mention_id)
                    self._recent.forget_open(email, mention_id)
        return counts

    # ---------------------------------------------------------------- delivery
    def resume_delivery(self, mention: Mention, now: datetime) -> None:
        """Deliver whatever notice of this mention, up to its current level, is still undelivered."""
        for level in range(mention.escalation_level + 1):
            notice = self.store.notice(mention.id, level)
            if notice is not None and notice.delivered_at is None:
                self.deliver(notice, mention, now)

    def deliver(
        self, notice: Notice, mention: Mention, now: datetime, *, prepared: _Prepared | None = None
    ) -> None:
        """Text and email every recipient of the notice. Each notification goes out once, however often this
        runs; raises NotificationFailed if any failed (after trying the others).

        `prepared` comes from the run that just recorded the assignment (its notice is claimed already and its
        recipients and reply links are known); any other run claims the notice first and reads them."""
        if notice.delivered_at is not None:
            return
        if prepared is None:
            claim_id = uuid.uuid4().hex
            if not self.store.claim(
                notice.mention_id, notice.level, claim_id, now, now + self.notifier.claim_window()
            ):
                raise NotificationFailed(
                    f"mention {mention.id} level {notice.level}: delivered, or being delivered by another run"
                )
            prepared = _Prepared(claim_id, {}, {}, self.conversation_so_far(mention))
            for email in notice.recipients:
                record = self.agents.get(email)
                if record is not None:
                    prepared.recipients[email] = record
        owed = [
            (email, record, channel)
            for email in notice.recipients
            if (record := prepared.recipients.get(email)) is not None and record.agent.active
            for channel in CHANNELS
            if f"{record.agent_id}:{channel}" not in notice.sent
            and not (channel == "sms" and record.agent.sms_opted_out)  # they texted STOP: emails only
        ]
        for email in notice.recipients:
            record = prepared.recipients.get(email)
            if record is None or not record.agent.active:
                logger.warning(
                    "recipient no longer active; skipped",
                    mention_id=mention.id,
                    escalation_level=notice.level,
                )
        if not owed:
            self.store.mark_delivered(notice.mention_id, notice.level, now)
            return
        failures: list[str] = []
        by_recipient: dict[str, list[tuple[AgentRecord, str]]] = {}
        for email, record, channel in owed:
            by_recipient.setdefault(email, []).append((record, channel))
        for position, (email, channels) in enumerate(by_recipient.items()):
            last_recipient = position == len(by_recipient) - 1
            sent = [
                f"{record.agent_id}:{channel}"
                for index, (record, channel) in enumerate(channels)
                if self._notify(
                    channel,
                    record,
                    email,
                    mention,
                    notice,
                    prepared,
                    now,
                    failures,
                    last=last_recipient and index == len(channels) - 1,
                )
            ]
            if not sent:
                continue
            # One write per recipient, right after their text and email: a run that stops after it never sends
            # them again (one that stops between the two publishes resends that recipient's text at most).
            # Should this write fail, the claim is kept: no retry sends anything until it lapses.
            self.store.record_sent(
                notice.mention_id,
                notice.level,
                sent,
                now,
                complete=not failures and last_recipient,
            )
        if failures:
            self.store.release(notice.mention_id, notice.level, prepared.claim_id)
            raise NotificationFailed(f"mention {mention.id} level {notice.level}: " + "; ".join(failures))

    def _notify(
        self,
        channel: str,
        record: AgentRecord,
        email: str,
        mention: Mention,
        notice: Notice,
        prepared: _Prepared,
        now: datetime,
        failures: list[str],
        *,
        last: bool,
    ) -> bool:
        """Send one notification. A failure is logged and added to `failures`, leaving it for a retry, unless
        none can help: then it is recorded as failed and the leads are told. `last`: the notice's last one."""
        try:
            token = prepared.links.get(email)
            if token is None:  # a retry: the first attempt's token is not stored (only its hash)
                token = self.notifier.tokens.create(mention.id, email, now, self.settings.reply_link_ttl)
                prepared.links[email] = token
            self.notifier.send(
                channel, mention, record, notice.level, prepared.conversation, self.notifier.link(token), now
            )
            return True
        except Exception as error:  # any failure leaves the notice for a retry, unless none can help
            if never_succeeds(error):
                self._give_up(notice, mention, record, channel, error, now, last=last)
                return False
            failures.append(f"{channel} to {record.agent_id}: {type(error).__name__}")
            logger.warning(
                "notification failed; will retry",
                mention_id=mention.id,
                escalation_level=notice.level,
                agent_id=record.agent_id,
                channel=channel,
                error=str(error),
            )
            return False

    def _give_up(
        self,
        notice: Notice,
        mention: Mention,
        record: AgentRecord,
        channel: str,
        error: Exception,
        now: datetime,
        *,
        last: bool,
    ) -> None:
        """A notification SNS will never send: recorded as failed with the reason (never retried), and the
        leads told once (only the run that records it tells them)."""
        reason = f"{channel} to {record.agent.name}: {error}"[:500]
        logger.error(
            "notification can never be sent; leads told",
            mention_id=mention.id,
            escalation_level=notice.level,
            agent_id=record.agent_id,
            channel=channel,
            error=str(error)[:300],
        )
        key = f"{record.agent_id}:{channel}"
        if not self.store.record_failed(notice.mention_id, notice.level, key, reason, now, complete=last):
            return
        subject = f"Social Care: a {'text' if channel == 'sms' else 'email'} to {record.agent.name} failed"
        message = (
            f"{record.agent.name} could not be sent the {channel} about mention {mention.id} "
            f"(escalation level {notice.level}), and it will not be retried.\n\nReason: {reason}\n\n"
            "Check the agent's phone number (socialcare agents update) and the mention "
            f"(socialcare mentions show {mention.id}).\n"
        )
        try:
            self.notifier.alert_leads(
                self.agents.agents(), subject.encode("ascii", "ignore").decode()[:99], message
            )
        except Exception:  # the failure is recorded; the alert is best effort, once
            logger.exception("leads could not be told about a failed notification", mention_id=mention.id)

    def conversation_so_far(self, mention: Mention) -> list[Mention]:
        """The conversation's latest mentions before this one (ours included), oldest first, for the email."""
        if not mention.conversation_id:
            return []
        return _earlier(self.mentions.conversation(mention.conversation_id), mention.id)


def starts_its_thread(mention: Mention) -> bool:
    """A mention that answers nothing and keys its own thread began its conversation: nothing earlier can be
    in it, so dispatch skips reading it. Only a reply that overtook it could be; if that reply was assigned,
    the assignment's condition on the conversation's agent fails and the conversation is read then."""
    return mention.in_reply_to is None and mention.thread_key == mention.external_id


def _earlier(conversation: list[Mention], mention_id: str) -> list[Mention]:
    ordered = sorted(conversation, key=lambda m: (m.created_at, m.id))
    return [m for m in ordered if m.id != mention_id][-CONVERSATION_IN_EMAIL:]


def mention_id_of_stream_image(image: Mapping[str, Any]) -> str | None:
    """The mention id in a table stream record's NewImage, or None if the item is not a mention."""
    return mention_id_of_image(image)


def mention_of_stream_image(image: Mapping[str, Any]) -> Mention | None:
    """The mention a table stream record's NewImage holds, or None when it does not parse (then dispatch
    reads it from the table)."""
    mention = mention_of_image(image)
    if mention is None:
        logger.warning("stream image is not a readable mention; reading it from the table")
    return mention


def build_dispatcher(settings: Settings, sns: Any | None = None) -> Dispatcher:
    resource = table(settings.table_name)
    notifier = Notifier(
        settings,
        TokenStore(resource),
        sns or boto3.client("sns"),
        AlertCodeStore(resource),
        addresses=ReplyAddressStore(resource),
    )
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
