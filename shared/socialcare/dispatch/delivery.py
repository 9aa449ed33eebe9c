"""Delivering a notice: every recipient's text and email, each sent once however often delivery runs.

Per recipient and channel one send; what went out to a recipient is recorded on the notice in one write right
after it, so a repeated delivery never sends it twice and a failed one is retried; retries claim the notice
first, so two runs never deliver it at once. Any failure raises NotificationFailed, and the notice stays
undelivered for the next attempt (the stream's retry, or the escalation sweep). A notification that can never
be sent (a number SNS cannot text) is recorded as failed and the leads are told once."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from socialcare.data.agents import AgentRecord, AgentStore
from socialcare.data.dispatch import DispatchStore, Notice
from socialcare.data.mentions import MentionStore
from socialcare.dispatch.notifier import (
    NotificationFailed,
    Notifier,
    RemainingMs,
    claim_window,
    never_succeeds,
)
from socialcare.models import Mention
from socialcare.observability import logger
from socialcare.settings import LinkLifetime

CHANNELS = ("sms", "email")
CONVERSATION_IN_EMAIL = 20  # earlier mentions of the conversation shown in the email


@dataclass
class Prepared:
    """What the run that recorded an assignment already has for its delivery: no need to read it again."""

    claim_id: str
    recipients: dict[str, AgentRecord]
    links: dict[str, str]  # email -> reply link token
    conversation: list[Mention]


@dataclass
class NoticeDelivery:
    """Sends a notice's texts and emails through the notifier and records each on the notice."""

    settings: LinkLifetime
    mentions: MentionStore
    agents: AgentStore
    store: DispatchStore
    notifier: Notifier

    def resume(self, mention: Mention, now: datetime, remaining_ms: RemainingMs | None = None) -> None:
        """Deliver whatever notice of this mention, up to its current level, is still undelivered."""
        for level in range(mention.escalation_level + 1):
            notice = self.store.notice(mention.id, level)
            if notice is not None and notice.delivered_at is None:
                self.deliver(notice, mention, now, remaining_ms)

    def deliver(
        self,
        notice: Notice,
        mention: Mention,
        now: datetime,
        remaining_ms: RemainingMs | None = None,
        *,
        prepared: Prepared | None = None,
    ) -> None:
        """Text and email every recipient of the notice. Each notification goes out once, however often this
        runs; raises NotificationFailed if any failed (after trying the others).

        `prepared` comes from the run that just recorded the assignment (its notice is claimed already and its
        recipients and reply links are known); any other run claims the notice first and reads them."""
        if notice.delivered_at is not None:
            return
        if prepared is None:
            prepared = self._claim(notice, mention, now, remaining_ms)
        owed = _owed(notice, prepared, mention)
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

    def _claim(
        self, notice: Notice, mention: Mention, now: datetime, remaining_ms: RemainingMs | None
    ) -> Prepared:
        """Claim the notice for this run (so two runs never deliver it at once) and read its recipients."""
        claim_id = uuid.uuid4().hex
        if not self.store.claim(
            notice.mention_id, notice.level, claim_id, now, now + claim_window(remaining_ms)
        ):
            raise NotificationFailed(
                f"mention {mention.id} level {notice.level}: delivered, or being delivered by another run"
            )
        prepared = Prepared(claim_id, {}, {}, self.conversation_so_far(mention))
        for email in notice.recipients:
            record = self.agents.get(email)
            if record is not None:
                prepared.recipients[email] = record
        return prepared

    def _notify(
        self,
        channel: str,
        record: AgentRecord,
        email: str,
        mention: Mention,
        notice: Notice,
        prepared: Prepared,
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
        return earlier_in_conversation(self.mentions.conversation(mention.conversation_id), mention.id)


def _owed(notice: Notice, prepared: Prepared, mention: Mention) -> list[tuple[str, AgentRecord, str]]:
    """The (recipient, record, channel) notifications of the notice not sent yet, to active agents only."""
    for email in notice.recipients:
        record = prepared.recipients.get(email)
        if record is None or not record.agent.active:
            logger.warning(
                "recipient no longer active; skipped", mention_id=mention.id, escalation_level=notice.level
            )
    return [
        (email, record, channel)
        for email in notice.recipients
        if (record := prepared.recipients.get(email)) is not None and record.agent.active
        for channel in CHANNELS
        if f"{record.agent_id}:{channel}" not in notice.sent
        and not (channel == "sms" and record.agent.sms_opted_out)  # they texted STOP: emails only
    ]


def earlier_in_conversation(conversation: list[Mention], mention_id: str) -> list[Mention]:
    ordered = sorted(conversation, key=lambda m: (m.created_at, m.id))
    return [m for m in ordered if m.id != mention_id][-CONVERSATION_IN_EMAIL:]
