"""Managing agents and their shifts: what `socialcare agents ...` and `socialcare shifts ...` do.

An agent's email is subscribed to the notification topic with a filter policy on their agent id, so each
agent receives only the emails meant for them; the subscription ARN is stored with the agent and removing the
agent unsubscribes it. Every input is validated by the models before anything is stored or subscribed."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from socialcare.data.agents import AgentRecord, AgentStore, agent_id_for
from socialcare.models import Agent, Shift
from socialcare.people.shifts import (
    can_be_texted,
    is_on_shift,
    parse_instant,
    with_extra_window,
    with_time_off,
    without_past_overrides,
)

# Fields `agents update` may change. The email is the agent's identity (and their subscription): to change
# it, remove the agent and add them again.
UPDATABLE_FIELDS = (
    "name", "phone", "platforms", "languages", "lead", "active", "directory", "handles", "role",
)  # fmt: skip


class AgentError(Exception):
    """Something the operator asked for cannot be done; the message says why."""


class InvalidAgent(AgentError):
    pass


class AgentExists(AgentError):
    pass


class AgentNotFound(AgentError):
    pass


def validation_message(error: ValidationError) -> str:
    """Pydantic's errors as one readable line: "phone '555' is not in E.164 form ..."."""
    parts = []
    for detail in error.errors():
        message = str(detail["msg"]).removeprefix("Value error, ")
        location = ".".join(str(part) for part in detail.get("loc", ()))
        parts.append(message if not location or location in message else f"{location}: {message}")
    return "; ".join(parts)


def build_agent(**fields: Any) -> Agent:
    try:
        return Agent.model_validate(fields)
    except ValidationError as error:
        raise InvalidAgent(validation_message(error)) from None


def filter_policy(agent_id: str) -> str:
    return json.dumps({"agent_id": [agent_id]})


@dataclass
class AgentService:
    store: AgentStore
    sns: Any
    topic_arn: str

    # ---------------------------------------------------------------- agents
    def add(self, agent: Agent, now: datetime) -> AgentRecord:
        """Store a new agent and subscribe their email to the notification topic (their emails only)."""
        if self.store.get(agent.email) is not None:
            raise AgentExists(f"an agent with email {agent.email} already exists (use `agents update`)")
        subscription_arn = self._subscribe(agent)
        record = AgentRecord(agent, subscription_arn, created_at=now, updated_at=now)
        try:
            added = self.store.add(record)
        except Exception:
            self._unsubscribe(subscription_arn)
            raise
        if not added:  # added concurrently by someone else: theirs stands
            raise AgentExists(f"an agent with email {agent.email} already exists (use `agents update`)")
        return record

    def get(self, email: str) -> AgentRecord:
        record = self.store.get(email)
        if record is None:
            raise AgentNotFound(f"no agent with email {email.strip().lower()}")
        return record

    def update(self, email: str, changes: dict[str, Any], now: datetime) -> AgentRecord:
        unknown = set(changes) - set(UPDATABLE_FIELDS)
        if unknown:
            raise InvalidAgent(f"cannot update {', '.join(sorted(unknown))} (updatable: {UPDATABLE_FIELDS})")
        record = self.get(email)
        agent = build_agent(**{**record.agent.model_dump(), **changes})
        return self._save(record, agent, now)

    def remove(self, email: str) -> tuple[AgentRecord, str | None]:
        """Delete the agent and unsubscribe their email. Returns the removed record and, when unsubscribing
        failed, why (the agent is removed either way; a pending subscription expires by itself)."""
        record = self.store.remove(email)
        if record is None:
            raise AgentNotFound(f"no agent with email {email.strip().lower()}")
        problem = self._unsubscribe(record.subscription_arn) if record.subscription_arn else None
        return record, problem

    def records(self) -> list[AgentRecord]:
        return self.store.records()

    def on_shift(self, at: datetime) -> list[Agent]:
        """Active agents whose shift covers the instant `at` and who have not paused their texts, by email."""
        return [agent for agent in self.store.agents() if can_be_texted(agent, at) and is_on_shift(agent, at)]

    # ---------------------------------------------------------------- shifts
    def set_schedule(self, email: str, weekly: str, time_zone: str | None, now: datetime) -> AgentRecord:
        """Replace the weekly schedule (and the time zone, when given); one-off overrides are kept."""
        record = self.get(email)
        current = record.agent.shift
        try:
            shift = Shift(
                time_zone=time_zone or current.time_zone, weekly=weekly, overrides=current.overrides
            )
        except ValidationError as error:
            raise InvalidAgent(validation_message(error)) from None
        return self._save(record, record.agent.model_copy(update={"shift": shift}), now)

    def add_window(self, email: str, starts: str, ends: str, now: datetime) -> AgentRecord:
        """An extra on-shift window; times without an offset are read in the agent's time zone."""
        return self._override(email, starts, ends, now, with_extra_window)

    def add_time_off(self, email: str, starts: str, ends: str, now: datetime) -> AgentRecord:
        """Time off (wins over the schedule and extra windows); times without an offset: agent's zone."""
        return self._override(email, starts, ends, now, with_time_off)

    def _override(self, email: str, starts: str, ends: str, now: datetime, apply: Any) -> AgentRecord:
        record = self.get(email)
        zone = record.agent.shift.time_zone
        try:
            start_at, end_at = parse_instant(starts, zone), parse_instant(ends, zone)
            if end_at <= start_at:
                raise InvalidAgent(f"--to {ends} must be after --from {starts}")
            if end_at <= now:
                raise InvalidAgent(f"--to {ends} is in the past: nothing would change")
            agent = apply(record.agent, start_at, end_at)
        except ValidationError as error:
            raise InvalidAgent(validation_message(error)) from None
        except ValueError as error:
            raise InvalidAgent(str(error)) from None
        return self._save(record, agent, now)

    # ---------------------------------------------------------------- internals
    def _save(self, record: AgentRecord, agent: Agent, now: datetime) -> AgentRecord:
        updated = AgentRecord(
            without_past_overrides(agent, now),
            record.subscription_arn,
            created_at=record.created_at,
            updated_at=now,
        )
        if not self.store.save(updated):
            raise AgentNotFound(f"no agent with email {record.email} (removed meanwhile)")
        return updated

    def _subscribe(self, agent: Agent) -> str:
        answer = self.sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="email",
            Endpoint=agent.email,
            Attributes={"FilterPolicy": filter_policy(agent_id_for(agent.email))},
            ReturnSubscriptionArn=True,  # the ARN even while the agent has not confirmed yet
        )
        return str(answer["SubscriptionArn"])

    def _unsubscribe(self, subscription_arn: str) -> str | None:
        try:
            self.sns.unsubscribe(SubscriptionArn=subscription_arn)
        except ClientError as error:
            return str(error)
        return None
