"""Escalation: every minute, the mentions that still need a human and are due (the sparse escalation index,
MentionStore.pending) get what they need.

- answered or gone: dropped from pending;
- waiting (nobody could take it), or still new a minute after it arrived (dispatch never ran): dispatched
  again;
- assigned and not opened within its priority's deadline: level 1 tells the next agent on shift, level 2
  (after twice the deadline) every agent on shift and the leads (socialcare.dispatch.routing);
- opened (an agent pressed "I'm on it") and still not answered ANSWER_DEADLINE_FACTOR deadlines later: every
  agent on shift and the leads. Opening the page is not opening: link scanners and previews open every link.
- reply_failed (the platform refused the agent's reply): escalated as it was before the failure, assigned or
  opened, until someone answers it;
- any of these with a reply on its way (pending or sending: an agent answered without pressing "I'm on it",
  or pressed Try again) is not escalated while the reply is out: it is looked at again IN_FLIGHT_RECHECK
  later, when the reply is sent (the mention leaves pending) or failed (it escalates again).

Each escalation is recorded once: its notice is written first-writer-wins, then the mention's transition
expects the previous escalation level, so overlapping runs never tell anyone twice. Notices whose delivery
failed are retried here until they are delivered, no longer needed, or older than a reply link lives."""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from socialcare.data.replies import ReplyStore, get_reply_store
from socialcare.dispatch.dispatcher import CLOSED_STATUSES, Dispatcher
from socialcare.dispatch.notifier import InvocationEndingSoon, RemainingMs, time_is_short
from socialcare.dispatch.routing import (
    MAX_ESCALATION_LEVEL,
    Priority,
    answer_due,
    escalation_due,
    escalation_recipients,
    guess_language,
)
from socialcare.models import Mention, MentionStatus
from socialcare.observability import logger

# A new mention is the dispatcher's for this long; after it, the sweep dispatches it itself.
NEW_MENTION_GRACE = timedelta(minutes=1)
# An undelivered notice is the run that wrote it for this long; after it, the sweep delivers it.
DELIVERY_GRACE = timedelta(minutes=1)
# A mention whose reply is on its way is looked at again this much later (a post takes seconds; its retries
# after throttling take minutes).
IN_FLIGHT_RECHECK = timedelta(minutes=1)


@dataclass
class SweepReport:
    dropped: int = 0
    dispatched: int = 0
    still_waiting: int = 0
    escalated: dict[int, int] = field(default_factory=dict)  # level -> mentions
    redelivered: int = 0
    abandoned: int = 0
    errors: int = 0
    reply_on_its_way: int = 0  # due, but a reply to it is pending or sending: not escalated
    left_for_next_sweep: bool = False  # the invocation was nearly over: the rest waits a minute


def _seconds() -> float:
    """The real clock a sweep's time advances by (tests replace it)."""
    return time.monotonic()


@dataclass
class SweepClock:
    """A sweep's time: when it started, advanced by the real time it has taken since.

    A sweep lasts up to its invocation's end. A delivery claims its notice until the invocation ends, counted
    from the `now` it is given (socialcare.dispatch.notifier.claim_window); given the sweep's start instead,
    a claim made late in the sweep had lapsed before it was made, by the clock of any other run, and the
    dispatcher took the notice and texted the agent a second time (`make bench` counted one)."""

    started_at: datetime
    started: float = field(default_factory=lambda: _seconds())

    def now(self) -> datetime:
        return self.started_at + timedelta(seconds=_seconds() - self.started)


class Escalator:
    def __init__(
        self,
        dispatcher: Dispatcher,
        remaining_ms: RemainingMs | None = None,
        replies: ReplyStore | None = None,
    ) -> None:
        """One sweep's escalator: `remaining_ms` is what is left of its invocation (how long it may claim)."""
        self.dispatcher = dispatcher
        self.remaining_ms = remaining_ms
        self.mentions = dispatcher.mentions
        self.agents = dispatcher.agents
        self.store = dispatcher.store
        self.deadlines = dispatcher.deadlines
        self.replies = replies or get_reply_store()

    def sweep(self, now: datetime) -> SweepReport:
        """Everything due at `now`, each mention handled at the time it is handled (SweepClock)."""
        report = SweepReport()
        clock = SweepClock(now)
        for mention in self.mentions.pending(due_before=now):
            if self._time_is_short(report):
                return report
            try:
                self._handle(mention, clock.now(), report)
            except InvocationEndingSoon:
                report.left_for_next_sweep = True
                return report
            except Exception:  # one mention's trouble must not stop the others
                report.errors += 1
                logger.exception("escalation failed for a mention", mention_id=mention.id)
        self.retry_undelivered(clock.now(), report)
        return report

    def _time_is_short(self, report: SweepReport) -> bool:
        """Whether to stop here (socialcare.dispatch.notifier.FINISH_MARGIN_MS): what is left is the next
        sweep's, a minute later."""
        if not time_is_short(self.remaining_ms):
            return False
        if not report.left_for_next_sweep:
            logger.warning("sweep stopped before its invocation ends; the next sweep goes on")
        report.left_for_next_sweep = True
        return True

    def _handle(self, mention: Mention, now: datetime, report: SweepReport) -> None:
        if _was_opened(mention) and not mention.is_ours and mention.answered_at is None:
            level = self.escalate_unanswered(mention, now, report)
            if level is not None:
                report.escalated[level] = report.escalated.get(level, 0) + 1
            return
        if mention.is_ours or mention.status in CLOSED_STATUSES:
            if self.mentions.stop_escalation(mention.id, expected={"status": mention.status}):
                report.dropped += 1
            return
        if mention.status is MentionStatus.NEW and now - mention.received_at < NEW_MENTION_GRACE:
            return  # the dispatcher is on it
        if mention.status in (MentionStatus.NEW, MentionStatus.WAITING):
            outcome = self.dispatcher.dispatch(mention.id, now, remaining_ms=self.remaining_ms)
            if outcome.result == "waiting":
                report.still_waiting += 1
            elif outcome.result == "assigned":
                report.dispatched += 1
            return
        if mention.status in (MentionStatus.ASSIGNED, MentionStatus.REPLY_FAILED):
            level = self.escalate(mention, now, report)
            if level is not None:
                report.escalated[level] = report.escalated.get(level, 0) + 1

    def escalate(self, mention: Mention, now: datetime, report: SweepReport | None = None) -> int | None:
        """Run the escalation due for an assigned mention, if any; returns the level recorded by this call."""
        priority = Priority(mention.priority) if mention.priority else Priority.NORMAL
        notified_at = mention.notified_at or mention.received_at
        deadline = self.deadlines[priority]
        level = escalation_due(
            priority,
            notified_at,
            opened=mention.opened_at is not None,
            answered=mention.answered_at is not None,
            level=mention.escalation_level,
            now=now,
            deadlines=self.deadlines,
        )
        if level is None:
            self._reschedule(mention, notified_at, deadline)
            return None
        if self._reply_on_its_way(mention, now, report):
            return None

        reason = f"not opened within {_minutes(deadline * level)} minutes"
        next_due = notified_at + deadline * (level + 1) if level < MAX_ESCALATION_LEVEL else None
        return self._escalate_to(mention, level, reason, next_due, now)

    def escalate_unanswered(
        self, mention: Mention, now: datetime, report: SweepReport | None = None
    ) -> int | None:
        """An opened mention due (its answer deadline passed, socialcare.dispatch.routing.answer_due) and
        still not
        answered: everyone on shift and the leads are told, once; then it leaves the pending index."""
        opened_at = mention.opened_at or mention.notified_at or mention.received_at
        due = answer_due(mention.priority, opened_at, self.dispatcher.settings.escalation_deadlines)
        if now < due:
            self.mentions.schedule_escalation(mention.id, due, expected={"status": mention.status})
            return None
        if mention.escalation_level >= MAX_ESCALATION_LEVEL:  # everyone was told already
            self.mentions.stop_escalation(mention.id, expected={"status": mention.status})
            return None
        if self._reply_on_its_way(mention, now, report):
            return None
        reason = f"opened {_minutes(now - opened_at)} minutes ago and not answered"
        return self._escalate_to(mention, MAX_ESCALATION_LEVEL, reason, None, now)

    def _reply_on_its_way(self, mention: Mention, now: datetime, report: SweepReport | None) -> bool:
        """A reply to the mention is pending or sending: escalating would call more people to a customer
        who is being answered. The mention is looked at again IN_FLIGHT_RECHECK later (the sent reply takes
        it out of pending; a failed one makes it reply_failed, which escalates)."""
        if not self.replies.on_its_way(mention.id):
            return False
        self.mentions.schedule_escalation(
            mention.id,
            now + IN_FLIGHT_RECHECK,
            expected={"status": mention.status, "escalation_level": mention.escalation_level},
        )
        if report is not None:
            report.reply_on_its_way += 1
        logger.info("not escalated: a reply is on its way", mention_id=mention.id)
        return True

    def _escalate_to(
        self, mention: Mention, level: int, reason: str, next_due: datetime | None, now: datetime
    ) -> int | None:
        """Record escalation `level` once (expecting the mention's status and level as read) and notify its
        recipients; returns the level when this call recorded it. `next_due`: when the next level is."""
        recipients = escalation_recipients(
            level,
            mention.platform,
            guess_language(mention.text),
            self.agents.agents(),
            mention.assigned_to,
            now,
        )
        notice = None
        if recipients:
            notice = self.store.create_notice(mention.id, level, [a.email for a in recipients], reason, now)
        told = list(dict.fromkeys([*mention.assigned_to, *(notice.recipients if notice else [])]))
        recorded = self.mentions.transition(
            mention.id,
            set_fields={"escalation_level": level, "assigned_to": told},
            expected={"status": mention.status, "escalation_level": mention.escalation_level},
            escalate_at=next_due,
            # The last level leaves the pending index: there is nobody further to tell.
            stop_escalating=level >= MAX_ESCALATION_LEVEL,
        )
        if not recorded:
            logger.info(
                "escalation recorded by a concurrent run", mention_id=mention.id, escalation_level=level
            )
            return None
        if notice is None:
            logger.warning(
                "escalation found nobody new to tell", mention_id=mention.id, escalation_level=level
            )
            return level
        logger.info(
            "mention escalated",
            mention_id=mention.id,
            escalation_level=level,
            priority=mention.priority,
            reason=reason,
            recipients=len(notice.recipients),
        )
        self.dispatcher.delivery.deliver(notice, mention, now, self.remaining_ms)
        return level

    def _reschedule(self, mention: Mention, notified_at: datetime, deadline: timedelta) -> None:
        """Nothing due although the index said so (a clock or configuration change): put the mention back at
        the time its next level is due, or out of pending when nothing is left to do."""
        level = mention.escalation_level
        if level >= MAX_ESCALATION_LEVEL or mention.opened_at or mention.answered_at:
            self.mentions.stop_escalation(mention.id, expected={"escalation_level": level})
        else:
            self.mentions.schedule_escalation(
                mention.id,
                notified_at + deadline * (level + 1),
                expected={"escalation_level": level, "status": mention.status},
            )

    def retry_undelivered(self, now: datetime, report: SweepReport | None = None) -> None:
        """Deliver notices an earlier run recorded but could not send; give up on those no longer needed."""
        report = report or SweepReport()
        clock = SweepClock(now)
        for notice in self.store.undelivered(created_before=now - DELIVERY_GRACE):
            if self._time_is_short(report):
                return
            at = clock.now()  # this notice's moment: its claim runs from it (SweepClock)
            try:
                mention = self.mentions.get(notice.mention_id)
                if mention is None or mention.is_ours or not _still_needed(mention, notice.created_at):
                    self.store.abandon(notice.mention_id, notice.level, "the mention no longer needs it", at)
                    report.abandoned += 1
                elif at - notice.created_at > self.dispatcher.settings.reply_link_ttl:
                    self.store.abandon(notice.mention_id, notice.level, "too old to matter", at)
                    report.abandoned += 1
                    logger.error("notice given up", mention_id=mention.id, escalation_level=notice.level)
                elif mention.escalation_level >= notice.level:
                    self.dispatcher.delivery.deliver(notice, mention, at, self.remaining_ms)
                    report.redelivered += 1
                # Otherwise the mention has not recorded this notice yet: its dispatch or escalation will.
            except Exception:
                report.errors += 1
                logger.exception(
                    "notice redelivery failed", mention_id=notice.mention_id, escalation_level=notice.level
                )


def _still_needed(mention: Mention, notice_created_at: datetime) -> bool:
    """A notice still matters while the mention is unopened, or was made after it was opened (it is about
    the mention being unanswered)."""
    if _was_opened(mention):
        return mention.opened_at is not None and notice_created_at >= mention.opened_at
    return mention.status in (MentionStatus.ASSIGNED, MentionStatus.REPLY_FAILED)


def _was_opened(mention: Mention) -> bool:
    """Opened ("I'm on it"), or opened before its reply failed: escalated as unanswered, not unopened."""
    if mention.status is MentionStatus.REPLY_FAILED:
        return mention.opened_at is not None
    return mention.status is MentionStatus.OPENED


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)
