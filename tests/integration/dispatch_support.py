"""Helpers for the dispatch and escalation tests: agents, mentions and what moto's SNS sent, in-process."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from infra.local.event_sources import passes_filters
from infra.local.stack import REGION
from socialcare.data import table
from socialcare.data.agents import AgentStore
from socialcare.dispatch.dispatcher import Dispatcher, DispatchSettings, build_dispatcher
from socialcare.dispatch.escalation import Escalator
from socialcare.dispatch.routing import answer_due
from socialcare.models import Author, Mention, MentionKind
from socialcare.people.agents import AgentService, build_agent
from socialcare.settings import Deadlines, load
from tests.integration.conftest import Aws

ALWAYS = "Mon-Sun 00:00-24:00"


@dataclass
class World:
    """One test's system: its dispatcher, escalator, agents, and what was sent."""

    aws: Aws
    dispatcher: Dispatcher
    agents: AgentService

    @property
    def escalator(self) -> Escalator:
        return Escalator(self.dispatcher)

    def add_agent(
        self,
        name: str,
        phone: str,
        schedule: str = ALWAYS,
        time_zone: str = "UTC",
        *,
        at: datetime,
        **fields: Any,
    ) -> str:
        email = f"{name.lower()}@example.com"
        self.agents.add(build_agent(name=name, email=email, phone=phone, **fields), at)
        if schedule:
            self.agents.set_schedule(email, schedule, time_zone, at)
        return email

    def mention(
        self,
        external_id: str,
        received_at: datetime,
        text: str = "@brand my order is late",
        conversation: str | None = None,
        **fields: Any,
    ) -> Mention:
        mention = Mention(
            platform=fields.pop("platform", "x"),
            external_id=external_id,
            kind=fields.pop("kind", MentionKind.POST),
            author=fields.pop("author", Author(id="42", handle="alice")),
            text=text,
            created_at=received_at,
            received_at=received_at,
            thread_key=conversation or external_id,
            conversation_id=f"x:{conversation or external_id}",
            **fields,
        )
        assert self.aws.mention_store().put_if_new(mention)
        return mention

    def stored(self, mention_id: str) -> Mention:
        mention = self.aws.mention_store().get(mention_id)
        assert mention is not None
        return mention

    def open_reply_link(self, mention_id: str, by: str, at: datetime) -> None:
        """What the reply page does when an agent says "I'm on it": opened, and pending again only when its
        answer deadline passes."""
        due = answer_due(self.stored(mention_id).priority, at, load(Deadlines).escalation_deadlines)
        stored = self.stored(mention_id)
        assert self.aws.mention_store().mark_opened(mention_id, by, at, due, was=stored.status)


def texts() -> list[tuple[str, str]]:
    """(phone, message) of every SMS moto's SNS was asked to send, in order."""
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def texts_to(phone: str) -> list[str]:
    return [message for to, message in texts() if to == phone]


def emails() -> list[dict[str, Any]]:
    """Every message published to a topic: subject, body and the agent_id attribute."""
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        {"subject": subject, "body": body, "agent_id": (attributes or {}).get("agent_id", {}).get("Value")}
        for topic in backend.topics.values()
        for _id, body, subject, attributes, _group in topic.sent_notifications
    ]


def link_in(message: str) -> str:
    return message.split("\n", 1)[0]  # the reply link comes first


def new_mention_records(aws: Aws) -> list[dict[str, Any]]:
    """The table stream's records as Lambda would deliver them to the dispatcher: read from moto's stream and
    kept only when they pass the template's FilterCriteria."""
    function = aws.template.document["Resources"]["DispatcherFunction"]["Properties"]
    criteria = function["Events"]["NewMentions"]["Properties"]["FilterCriteria"]
    stream_arn = aws.resolver.attributes["Table.StreamArn"]
    # moto answers the regional endpoint only, not the account-based one botocore picks for stream ARNs.
    config = Config(account_id_endpoint_mode="disabled")
    streams = boto3.client("dynamodbstreams", region_name=REGION, config=config)
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        answer = streams.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(dict(record, eventSourceARN=stream_arn) for record in answer["Records"])
    records = [json.loads(json.dumps(record, default=str)) for record in records]
    return [record for record in records if passes_filters(criteria, record)]


def make_world(aws: Aws) -> World:
    """Built after the `aws` fixture set the environment, as a Lambda execution environment would be."""
    settings = load(DispatchSettings)
    agents = AgentService(
        AgentStore(table(settings.table_name)), boto3.client("sns"), settings.notification_topic_arn
    )
    return World(aws, build_dispatcher(settings), agents)
