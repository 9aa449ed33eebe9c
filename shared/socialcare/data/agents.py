"""Agents in the table (key and list entry: socialcare.data.table_map).

The item holds the Agent model (schedule included) plus what the system attached to it: a stable opaque id
(the email subscription's filter policy selects on it, and logs name it instead of the email) and the ARN of
the agent's email subscription to the notification topic.

The agents' list partition also holds what routing needs besides the agents (socialcare.data.dispatch: the
round robin cursor and the open counts), so the dispatcher reads everything in one Query; readers of
agents keep only items whose entity is "agent".

Every write of an agent also adds one to the roster's version, kept on the cursor's item in the same
transaction: a dispatcher reuses the roster it read for a few seconds, and its assignment's transaction
expects the version it read, so a roster changed since (an agent added, removed, paused) is read again
before anyone is texted."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from socialcare.data.dynamo import Update, plain, query_items, storage_errors, table, transact
from socialcare.data.table_map import (
    AGENTS_LIST,
    LISTS,
    ROSTER_VERSION,
    agent_key,
    agent_list_entry,
    cursor_key,
    cursor_list_entry,
)
from socialcare.models import Agent
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

AGENTS_INDEX_KEY = AGENTS_LIST


def agent_id_for(email: str) -> str:
    """A stable, opaque id for the agent with this email: what message attributes and logs carry."""
    return "agt-" + hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class AgentRecord:
    agent: Agent
    subscription_arn: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def email(self) -> str:
        return self.agent.email

    @property
    def agent_id(self) -> str:
        return agent_id_for(self.agent.email)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record_to_item(record: AgentRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        **agent_key(record.email),
        "entity": "agent",
        **agent_list_entry(record.email),
        "agent_id": record.agent_id,
        **record.agent.model_dump(mode="json"),
    }
    if record.subscription_arn:
        item["subscription_arn"] = record.subscription_arn
    if record.created_at:
        item["created_at"] = _iso(record.created_at)
    if record.updated_at:
        item["updated_at"] = _iso(record.updated_at)
    return item


def item_to_record(item: dict[str, Any]) -> AgentRecord:
    data = plain(item)
    agent = Agent.model_validate({k: v for k, v in data.items() if k in Agent.model_fields})
    return AgentRecord(
        agent=agent,
        subscription_arn=data.get("subscription_arn"),
        created_at=datetime.fromisoformat(data["created_at"]) if data.get("created_at") else None,
        updated_at=datetime.fromisoformat(data["updated_at"]) if data.get("updated_at") else None,
    )


def roster_changed() -> dict[str, Any]:
    """The transaction action adding one to the roster's version (creating the cursor's item if need be)."""
    fields = {"entity": "cursor", **cursor_list_entry()}
    return {"Update": Update(fields, add_fields={ROSTER_VERSION: 1}, must_exist=False).request(cursor_key())}


class AgentStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def _write(self, action: dict[str, Any]) -> bool:
        """The agent's write and the roster's new version together; False if the write's condition failed."""
        return 0 not in transact(self._table, [action, roster_changed()])

    def add(self, record: AgentRecord) -> bool:
        """Store a new agent; False when an agent with that email already exists."""
        return self._write(
            {"Put": {"Item": _record_to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}}
        )

    def save(self, record: AgentRecord) -> bool:
        """Replace a stored agent; False when there is no such agent (removed meanwhile)."""
        return self._write(
            {"Put": {"Item": _record_to_item(record), "ConditionExpression": "attribute_exists(pk)"}}
        )

    def get(self, email: str) -> AgentRecord | None:
        with storage_errors():
            item = self._table.get_item(Key=agent_key(email), ConsistentRead=True).get("Item")
        return item_to_record(item) if item else None

    def remove(self, email: str) -> AgentRecord | None:
        """Delete the agent; returns what was stored, or None if there was no such agent (or it was removed
        meanwhile: only one of two removals gets the record)."""
        old = self.get(email)
        if old is None:
            return None
        delete = {"Key": agent_key(email), "ConditionExpression": "attribute_exists(pk)"}
        return old if self._write({"Delete": delete}) else None

    def records(self) -> list[AgentRecord]:
        """Every agent, by email."""
        items = query_items(self._table, LISTS.query(AGENTS_LIST))
        records = [item_to_record(item) for item in items if item.get("entity") == "agent"]
        return sorted(records, key=lambda record: record.email)

    def agents(self) -> list[Agent]:
        return [record.agent for record in self.records()]


@one_per_process
def get_agent_store() -> AgentStore:
    return AgentStore(table(load(Table).table_name))
