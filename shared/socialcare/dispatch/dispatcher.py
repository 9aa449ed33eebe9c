"""Dispatch: a new customer mention gets a priority, an agent on shift and a text with its reply link.

The steps, each safe to repeat (the table stream delivers at least once, SNS calls fail, and the escalation
sweep may dispatch the same mention concurrently):

1. Read (two Queries): the roster (agents, the round robin cursor and open counts, one gsi1 partition)
   and the conversation (its mentions: the email's history, and which agent the conversation sticks to). A
   mention from the table stream comes with its stored image, so it is not read again.
2. Decide (socialcare.dispatch.routing): sticky agent of the conversation, else round robin among agents
   on shift with room, else the leads; nobody at all -> the mention is recorded as waiting and stays
   pending for the sweep.
3. Record the assignment in one transaction (socialcare.data.dispatch.DispatchStore.assign): the mention's
   transition (expected: the status it was read with), the notice (who is told at level 0, claimed by this
   run), the conversation's agent, the cursor (or a check of the roster's version), the open assignments and
   the reply links. Everything read in 1 from an index or reused is checked by the transaction's conditions;
   a stale read is read again (consistently where DynamoDB can) and decided again.
   The loser of a race (or a redelivered record) stops here: the mention's condition fails.
4. Deliver the notice (socialcare.dispatch.delivery, through socialcare.dispatch.notifier): each text and
   email once, however often delivery runs.

Everything takes `now` explicitly: tests run it with a controlled clock."""

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from socialcare.aws_clients import client as aws_client
from socialcare.data import table
from socialcare.data.agents import AgentStore, agent_id_for
from socialcare.data.dispatch import (
    AssignmentConflict,
    AssignmentWrite,
    ConversationHistory,
    DispatchStore,
    Notice,
    Roster,
)
from socialcare.data.mentions import MentionStore, mention_id_of_image, mention_of_image
from socialcare.data.reply_addresses import ReplyAddressStore
from socialcare.data.sms_codes import AlertCodeStore
from socialcare.data.tokens import TokenStore, new_reply_link
from socialcare.dispatch.delivery import NoticeDelivery, Prepared, earlier_in_conversation
from socialcare.dispatch.notifier import (
    InvocationEndingSoon,
    Notifier,
    NotifierSettings,
    RemainingMs,
    claim_window,
    time_is_short,
)
from socialcare.dispatch.recent_writes import RecentWrites
from socialcare.dispatch.routing import (
    DEFAULT_DEADLINES,
    Assignment,
    Priority,
    choose_assignee,
    classify_priority,
    guess_language,
)
from socialcare.errors import StorageUnavailable
from socialcare.models import Agent, Mention, MentionStatus
from socialcare.observability import logger
from socialcare.people.shifts import can_be_texted, is_on_shift
from socialcare.settings import Deadlines, Routing, Table, load
from socialcare.singletons import one_per_process

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
# Attempts at recording one assignment when what was read turns out stale (each re-reads what was).
ASSIGN_ATTEMPTS = 4
# How long a read roster (agents, cursor, open counts) serves the next mentions: a burst costs one Query, not
# one per mention. What the transaction checks (the cursor) is re-read when it turns out stale; an agent
# added or taken off shift is seen this much later at most.
ROSTER_REUSE = 5.0  # seconds


class DispatchSettings(Table, NotifierSettings, Routing):
    """What dispatching reads: the notifier's settings and the routing limits."""


def deadlines_of(settings: Deadlines) -> dict[Priority, timedelta]:
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


@dataclass
class _Recorded:
    """An assignment recorded by this run, with what it read on the way (its delivery needs no new read)."""

    write: AssignmentWrite
    links: dict[str, str]  # email -> reply link token
    assignment: Assignment
    roster: Roster
    history: ConversationHistory


class Dispatcher:
    def __init__(
        self,
        settings: DispatchSettings,
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
        self.delivery = NoticeDelivery(settings, mentions, agents, store, notifier)
        self._recent = RecentWrites()
        self._roster: tuple[float, Roster] | None = None

    def roster(self, *, fresh: bool = False) -> Roster:
        """The roster, read at most once per ROSTER_REUSE seconds unless `fresh` (this process's own
        assignments since are merged in by _RecentWrites). Never stale where it matters: the assignment
        expects the roster's version it was decided on, and a changed roster is read again."""
        read = self._roster
        if not fresh and read is not None and time.monotonic() - read[0] < ROSTER_REUSE:
            return read[1]
        roster = self.store.roster()
        self._roster = (time.monotonic(), roster)
        return roster

    # ---------------------------------------------------------------- dispatch
    def dispatch(
        self,
        mention_id: str,
        now: datetime,
        stored: Mention | None = None,
        remaining_ms: RemainingMs | None = None,
    ) -> Outcome:
        """Assign and notify one mention that is new or waiting. Raises NotificationFailed (after recording
        the assignment) when a text or email could not be sent: calling again later finishes the delivery.

        `stored` is the mention as the table stream delivered it: not read again, but not trusted either (the
        record may be a redelivery, the text may have been edited since); the assignment's transaction expects
        its status and text, and when they changed the mention is read and dispatched as it is now.
        `remaining_ms` tells what is left of the invocation (how long a notice may be claimed); with too
        little left, nothing is started and InvocationEndingSoon is raised, for a later run to dispatch it."""
        if time_is_short(remaining_ms):
            raise InvocationEndingSoon(mention_id)
        unverified = stored is not None
        mention = stored if stored is not None else self.mentions.get(mention_id)
        if mention is None:
            logger.warning("mention to dispatch not found", mention_id=mention_id)
            return Outcome(mention_id, "missing")
        if unverified and mention.status not in (MentionStatus.NEW, MentionStatus.WAITING):
            return self.dispatch(mention_id, now, remaining_ms=remaining_ms)
        if mention.is_ours:
            return Outcome(mention_id, "ignored")
        if mention.status is MentionStatus.ASSIGNED:
            self.delivery.resume(
                mention, now, remaining_ms
            )  # a redelivered record: finish an earlier attempt
            return Outcome(mention_id, "already_assigned", tuple(mention.assigned_to))
        if mention.status not in (MentionStatus.NEW, MentionStatus.WAITING):
            return Outcome(mention_id, "closed")
        priority = classify_priority(mention)  # again each time: a waiting mention may have its text now
        if mention.text_pending and now - mention.received_at < TEXT_WAIT:
            # An Instagram mention whose text is still being fetched: a text without it helps nobody.
            return self._wait(mention, priority, "its text is not fetched yet", now)
        recorded = self._record(mention, priority, unverified, now, remaining_ms)
        if isinstance(recorded, Outcome):
            return recorded
        return self._announce(mention, priority, recorded, now, remaining_ms)

    def _record(
        self,
        mention: Mention,
        priority: Priority,
        unverified: bool,
        now: datetime,
        remaining_ms: RemainingMs | None,
    ) -> "Outcome | _Recorded":
        """Decide who is told and record it in one transaction; what was read from an index and turns out
        stale is read again consistently and decided again. An Outcome when nothing was recorded."""
        language = guess_language(mention.text)
        kept = self._roster
        roster = self.roster()
        reused = kept is not None and kept[1] is roster
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
                if reused:  # a wait is not checked against the roster's version: read the roster now
                    roster, reused = self.roster(fresh=True), False
                    cursor = self._recent.cursor_or(roster.last_assigned)
                    continue
                return self._wait(mention, priority, assignment.reason, now)
            write, links = self._assignment(mention, priority, assignment, now, remaining_ms)
            write.expected = expected
            write.conversation_agent_seen, write.cursor_seen = sticky, cursor
            write.roster_seen = roster.version
            try:
                self.store.assign(write, now)
                return _Recorded(write, links, assignment, roster, history)
            except AssignmentConflict as conflict:
                if "mention" in conflict.parts:
                    if unverified:  # redelivered, edited, or dispatched by someone else: look again
                        return self.dispatch(mention.id, now, remaining_ms=remaining_ms)
                    logger.info("mention assigned by a concurrent run", mention_id=mention.id)
                    return Outcome(mention.id, "lost_race")
                # The index was behind: read what the decision depends on consistently and decide again.
                logger.info("assignment read stale routing data; deciding again", mention_id=mention.id)
                if "conversation" in conflict.parts and mention.conversation_id:
                    sticky = self.store.conversation_agent(mention.conversation_id)
                    history = self.store.conversation_history(mention.conversation_id)
                if conflict.parts & {"cursor", "roster"}:
                    cursor, version = self.store.cursor()
                    if version != roster.version:  # an agent was added, removed or changed since
                        logger.info("the roster changed; reading it again", mention_id=mention.id)
                        roster, reused = self.roster(fresh=True), False
        raise StorageUnavailable(f"mention {mention.id}: routing data kept changing; will retry")

    def _announce(
        self,
        mention: Mention,
        priority: Priority,
        recorded: "_Recorded",
        now: datetime,
        remaining_ms: RemainingMs | None,
    ) -> Outcome:
        """The assignment is recorded: remember it for the next mentions, then deliver its notice."""
        write, assignment = recorded.write, recorded.assignment
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
        by_email = {record.email: record for record in recorded.roster.agents}
        prepared = Prepared(
            claim_id=write.claim_id,
            recipients={email: by_email[email] for email in recipients if email in by_email},
            links=recorded.links,
            conversation=earlier_in_conversation(recorded.history.mentions, mention.id),
        )
        self.delivery.deliver(write.notice, assigned, now, remaining_ms, prepared=prepared)
        return Outcome(mention.id, "assigned", tuple(recipients), assignment.via, assignment.reason)

    def _assignment(
        self,
        mention: Mention,
        priority: Priority,
        assignment: Assignment,
        now: datetime,
        remaining_ms: RemainingMs | None,
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
        claimed_until = now + claim_window(remaining_ms)
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
        whatever became of its assignments; only for the others are the assignments and their mentions'
        statuses read, and assignments whose mention was answered or is gone are closed on the way, so the
        counts heal themselves whoever closed it.

        Those reads stop once max_open open ones are found: a lead who takes a viral burst holds thousands,
        and reading them all for every mention made each dispatch slower than the last. They go max_open
        assignments a round (one Query page and one BatchGetItem of statuses for every agent still unsure),
        so an agent at capacity costs those two calls when its first assignments are still open."""
        limit = self.settings.max_open_assignments
        counts: dict[str, int] = {}
        unsure: dict[str, Iterator[str]] = {}
        for agent in agents:
            count = max(roster.open_counts.get(agent.email, 0), self._recent.open_count(agent.email))
            if count < limit:
                counts[agent.email] = count
            else:  # counted again below, from the assignments themselves
                counts[agent.email] = 0
                read = self.store.open_ids(agent.email, page_size=limit)
                unsure[agent.email] = self._recent.open_ids(agent.email, read)
        while unsure:
            batch = {email: list(islice(ids, limit)) for email, ids in unsure.items()}
            statuses = self.mentions.statuses({mention_id for ids in batch.values() for mention_id in ids})
            for email, ids in batch.items():
                for mention_id in ids:
                    if statuses.get(mention_id) in OPEN_STATUSES:
                        counts[email] += 1
                    else:
                        self.store.close_open(email, mention_id)
                        self._recent.forget_open(email, mention_id)
                if counts[email] >= limit or len(ids) < limit:
                    del unsure[email]
        return counts


def starts_its_thread(mention: Mention) -> bool:
    """A mention that answers nothing and keys its own thread began its conversation: nothing earlier can be
    in it, so dispatch skips reading it. Only a reply that overtook it could be; if that reply was assigned,
    the assignment's condition on the conversation's agent fails and the conversation is read then."""
    return mention.in_reply_to is None and mention.thread_key == mention.external_id


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


def build_dispatcher(settings: DispatchSettings, sns: Any | None = None) -> Dispatcher:
    resource = table(settings.table_name)
    notifier = Notifier(
        settings,
        TokenStore(resource),
        sns or aws_client("sns"),
        AlertCodeStore(resource),
        addresses=ReplyAddressStore(resource),
    )
    return Dispatcher(
        settings, MentionStore(resource), AgentStore(resource), DispatchStore(resource), notifier
    )


@one_per_process
def get_dispatcher() -> Dispatcher:
    """The dispatcher of this execution environment (clients and stores created once)."""
    return build_dispatcher(load(DispatchSettings))
