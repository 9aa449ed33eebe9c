"""Agents in the table:
  agent     pk=AGENT#<email>  sk=AGENT   gsi1: AGENTS / <email>

The item holds the Agent model (schedule included) plus what the system attached to it: a stable opaque id
(the email subscription's filter policy selects on it, and logs name it instead of the email) and the ARN of
the agent's email subscription to the notification topic.

The gsi1 AGENTS partition also holds what routing needs besides the agents (socialcare.data.dispatch: the
round robin cursor and the open counts), so the dispatcher reads everything in one Query; readers of
agents keep only items whose entity is "agent"."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain, table
from socialcare.errors import StorageUnavailable
from socialcare.models import Agent
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

AGENT_SK = "AGENT"
AGENTS_INDEX_KEY = "AGENTS"


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


def _key(email: str) -> dict[str, str]:
    return {"pk": f"AGENT#{email.strip().lower()}", "sk": AGENT_SK}


def agent_key(email: str) -> dict[str, str]:
    """An agent item's key, for data modules that read an agent together with their own items."""
    return _key(email)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record_to_item(record: AgentRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(record.email),
        "entity": "agent",
        "gsi1pk": AGENTS_INDEX_KEY,
        "gsi1sk": record.email,
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


class AgentStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, record: AgentRecord) -> bool:
        """Store a new agent; False when an agent with that email already exists."""
        try:
            self._table.put_item(Item=_record_to_item(record), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def save(self, record: AgentRecord) -> bool:
        """Replace a stored agent; False when there is no such agent (removed meanwhile)."""
        try:
            self._table.put_item(Item=_record_to_item(record), ConditionExpression="attribute_exists(pk)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def get(self, email: str) -> AgentRecord | None:
        try:
            item = self._table.get_item(Key=_key(email), ConsistentRead=True).get("Item")
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return item_to_record(item) if item else None

    def remove(self, email: str) -> AgentRecord | None:
        """Delete the agent; returns what was stored, or None if there was no such agent."""
        try:
            answer = self._table.delete_item(Key=_key(email), ReturnValues="ALL_OLD")
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        old = answer.get("Attributes")
        return item_to_record(old) if old else None

    def records(self) -> list[AgentRecord]:
        """Every agent, by email."""
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :agents",
            "ExpressionAttributeValues": {":agents": AGENTS_INDEX_KEY},
        }
        records: list[AgentRecord] = []
        try:
            while True:
                page = self._table.query(**query)
                records.extend(
                    item_to_record(item) for item in page.get("Items", []) if item.get("entity") == "agent"
                )
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return sorted(records, key=lambda record: record.email)

    def agents(self) -> list[Agent]:
        return [record.agent for record in self.records()]


@one_per_process
def get_agent_store() -> AgentStore:
    return AgentStore(table(load(Table).table_name))
