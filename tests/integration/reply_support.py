"""What the reply tests share: a mention as dispatch leaves it (assigned to an agent, with a reply link), the
reply page driven through its handler, and the reply queue drained into the reply sender the way Lambda's
SQS event source does it (failed records stay on the queue with the visibility the sender gave them)."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

import boto3

from infra.local.event_sources import _sqs_record
from infra.simulator.server import PlatformSimulator, point_at_simulator
from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore
from socialcare.data.replies import Reply, ReplyStore
from socialcare.data.tokens import TokenStore
from socialcare.models import Agent, Author, Mention, MentionKind, MentionStatus
from socialcare.platform_config import section_secret_ids
from tests.integration.conftest import Aws, Invoke, http_event

HOST = "127.0.0.1:3000"
ALICE = Agent(name="Alice Agent", email="alice@example.com", phone="+14155550101")
BOB = Agent(name="Bob Builder", email="bob@example.com", phone="+14155550102")
LEAD = Agent(name="Lena Lead", email="lena@example.com", phone="+14155550103", lead=True)


def point_config_at(aws: Aws, config: dict[str, Any], simulator: PlatformSimulator) -> None:
    """Rewrite the stack's configuration secrets so every platform call goes to the simulator."""
    config["x"]["api_base"] = simulator.url
    config["meta"]["graph_base"] = f"{simulator.url}/v21.0"
    for source in config["sources"].values():
        source["reply_url"] = source["reply_url"].replace("http://127.0.0.1:4000", simulator.url)
    config.update(point_at_simulator(config, simulator.url))  # every other platform's URLs too
    for section, secret_id in section_secret_ids(aws.environment["SECTION_SECRET_IDS"]).items():
        boto3.client("secretsmanager").put_secret_value(
            SecretId=secret_id, SecretString=json.dumps(config.get(section, {}))
        )


def customer_mention(
    external_id: str = "1850000000000000001",
    *,
    platform: str = "x",
    kind: MentionKind = MentionKind.POST,
    text: str = "@brand my order is late",
    handle: str | None = "carol",
    created_at: datetime | None = None,
    url: str | None = "",
    **extra: Any,
) -> Mention:
    return Mention(
        platform=platform,
        external_id=external_id,
        kind=kind,
        author=Author(id="42", handle=handle, name="Carol Customer"),
        text=text,
        url=url if url != "" else (f"https://x.com/carol/status/{external_id}" if platform == "x" else None),
        created_at=created_at or datetime.now(UTC) - timedelta(minutes=3),
        thread_key=extra.pop("thread_key", external_id),
        conversation_id=extra.pop("conversation_id", f"{platform}:{external_id}"),
        **extra,
    )


@dataclass
class ReplyWorld:
    """One in-process system: stores on the `aws` fixture's table, the page and sender handlers."""

    aws: Aws
    page: Invoke
    sender: Invoke
    simulator: PlatformSimulator
    x_webhook: Invoke | None = None

    def refuse(self, count: int, status: int, **kwargs: Any) -> None:
        self.simulator.fail_next(count, status, **kwargs)

    def accepted(self) -> int:
        """Calls the simulator answered with a success (it records refused ones too)."""
        return len([call for call in self.simulator.calls if call.status is not None and call.status < 300])

    @property
    def table(self) -> Any:
        return table(self.aws.table_name)

    def add_agents(self, *agents: Agent) -> None:
        for agent in agents:
            AgentStore(self.table).add(AgentRecord(agent=agent))

    def assigned(self, mention: Mention, *agents: Agent) -> Mention:
        """Store the mention and assign it as dispatch does (status assigned, still pending escalation)."""
        store = self.aws.mention_store()
        assert store.put_if_new(mention)
        emails = [agent.email for agent in agents]
        assert store.transition(
            mention.id,
            set_fields={
                "status": MentionStatus.ASSIGNED,
                "assigned_to": emails,
                "notified_at": datetime.now(UTC),
            },
            expected={"status": MentionStatus.NEW},
        )
        stored = store.get(mention.id)
        assert stored is not None
        return stored

    def link(
        self,
        mention: Mention,
        agent: Agent,
        *,
        now: datetime | None = None,
        ttl: timedelta = timedelta(hours=24),
    ) -> str:
        return TokenStore(self.table).create(mention.id, agent.email, now or datetime.now(UTC), ttl)

    def get(self, token: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return self.page(http_event("GET", f"/r/{token}", headers={"host": HOST, **(headers or {})}))

    def post(
        self,
        token: str,
        fields: dict[str, str],
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        base = {
            "host": HOST,
            "content-type": "application/x-www-form-urlencoded",
            "sec-fetch-site": "same-origin",
        }
        body = urlencode(fields).encode()
        return self.page(http_event("POST", f"/r/{token}", body=body, headers={**base, **(headers or {})}))

    def answer(self, token: str, text: str, **extra: str) -> dict[str, Any]:
        """Open the page as the agent would, then send the form with its nonce."""
        page = self.get(token)
        assert page["statusCode"] == 200, page["body"]
        return self.post(token, {"nonce": nonce_of(page), "text": text, **extra})

    # ---- the queue
    @property
    def queue_url(self) -> str:
        return self.aws.environment["REPLY_QUEUE_URL"]

    def drain(
        self, *, max_rounds: int = 20, on_round: Callable[[int], None] | None = None
    ) -> list[dict[str, Any]]:
        """Deliver what is visible on the reply queue to the sender until it is empty; what the sender
        sends back (visibility changed) is made visible again only by `time_passes`. Returns the sender's
        answers."""
        sqs = boto3.client("sqs")
        answers: list[dict[str, Any]] = []
        for round_number in range(max_rounds):
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=5, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return answers
            queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            answer = self.sender({"Records": [_sqs_record(dict(m), queue_arn) for m in messages]})
            answers.append(answer)
            failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if on_round:
                on_round(round_number)
        raise AssertionError("the reply queue did not empty")

    def time_passes(self) -> int:
        """Make every message the sender put off visible again, as if its backoff had run out. Returns how
        many there were. (Invisible messages cannot be received: moto's backend reaches them.)"""
        hidden = self._hidden_messages()
        for message in hidden:
            message.visible_at = 0.0
        return len(hidden)

    def hidden_delays(self) -> list[int]:
        """Seconds until each put-off message on the queue becomes visible again."""
        now_ms = datetime.now(UTC).timestamp() * 1000
        return [round((m.visible_at - now_ms) / 1000) for m in self._hidden_messages()]

    def _hidden_messages(self) -> list[Any]:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends["123456789012"]["us-east-1"]
        queue = backend.queues[self.queue_url.rsplit("/", 1)[-1]]
        return [m for m in queue._messages if not m.visible]

    def replies(self, mention: Mention) -> list[Reply]:
        return ReplyStore(self.table).for_mention(mention.id)

    def sms(self) -> list[tuple[str, str]]:
        from moto.sns.models import sns_backends

        return list(sns_backends["123456789012"]["us-east-1"].sms_messages.values())

    def topic_messages(self) -> list[tuple[str | None, str, dict[str, Any] | None]]:
        from moto.sns.models import sns_backends

        arn = self.aws.environment["NOTIFICATION_TOPIC_ARN"]
        topic = sns_backends["123456789012"]["us-east-1"].topics[arn]
        return [
            (subject, message, attributes) for _, message, subject, attributes, _ in topic.sent_notifications
        ]


NONCE_FIELD = re.compile(r'name="nonce" value="([^"]+)"')


def nonce_of(response: dict[str, Any]) -> str:
    found = NONCE_FIELD.search(response["body"])
    assert found, "the page has a form nonce"
    return unescape(found.group(1))


def text_of(response: dict[str, Any]) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response["body"])).split())


def make_reply_world(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    simulator: PlatformSimulator,
    config: dict[str, Any],
    *agents: Agent,
) -> ReplyWorld:
    """The page and sender handlers, with every platform call going to `simulator` and `agents` stored."""
    simulator.reset()
    point_config_at(aws, config, simulator)
    world = ReplyWorld(aws, handlers("ReplyPageFunction"), handlers("ReplySenderFunction"), simulator)
    world.add_agents(*agents)
    return world
