"""Reply to the email: an agent answers a notification email, and the answer is posted like the page's.

SES receives mail for ReplyEmailDomain: its receipt rule stores the raw message in the inbound bucket (the
S3 action: SNS's bounces mail over 150 KB) and then invokes this function with the receipt (recipients and
verdicts) and the mail's headers. A reply is accepted only when:

* the token comes from the receipt's recipients (the envelope, never the To header): r-<token>@<domain>,
  known (socialcare.data.reply_addresses) and still valid;
* the From header's address is the agent the token was issued to (case-insensitive);
* DMARC did not fail, and DKIM or SPF passed;
* it is no automatic reply (Auto-Submitted other than "no", Precedence bulk/junk/list/auto_reply,
  X-Autoreply, X-Autorespond).

The answer is the text/plain part (HTML converted when there is none), cut above the quoted notification:
first at our own marker line (every notification email starts with it, so whatever a client quotes of it
goes), then by mail-parser-reply (the client's "On ... wrote:" line and its quote), then at any line quoted
with ">". Anything refused is answered by an email to the agent the token belongs to (never to the From
address: that would be backscatter to a forger) with the reason and the page's link; nothing is posted."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

from socialcare.aws_clients import client as aws_client
from socialcare.data import table
from socialcare.data.agents import AgentStore, agent_id_for
from socialcare.data.mentions import MentionStore
from socialcare.data.replies import CreateOutcome, Reply, ReplyStore, mention_for_reply, reply_id_for_link
from socialcare.data.reply_addresses import ReplyAddressStore
from socialcare.data.tokens import TokenStore
from socialcare.dispatch.notices import REPLY_ABOVE
from socialcare.models import MentionStatus, utc_now
from socialcare.observability import logger
from socialcare.replies.page_view import validate_reply
from socialcare.settings import Emailing, InboundMail, Notifications, ReplyLinks, ReplyQueue, Table, load
from socialcare.singletons import one_per_process

REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "da", "sv", "pl", "cs"]
_TOKEN = re.compile(r"^r-([a-z2-7]{16,64})$")
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


@dataclass(frozen=True)
class Receipt:
    """What SES's receipt says about one message (its Lambda action event)."""

    message_id: str
    recipients: list[str]
    spf: str
    dkim: str
    dmarc: str

    @classmethod
    def of(cls, record: dict[str, Any]) -> "Receipt":
        ses = record["ses"]
        receipt = ses["receipt"]

        def verdict(name: str) -> str:
            return str((receipt.get(name) or {}).get("status", "")).upper()

        return cls(
            message_id=str(ses["mail"]["messageId"]),
            recipients=[str(r) for r in receipt.get("recipients", [])],
            spf=verdict("spfVerdict"),
            dkim=verdict("dkimVerdict"),
            dmarc=verdict("dmarcVerdict"),
        )

    @property
    def authenticated(self) -> bool:
        return self.dmarc != "FAIL" and "PASS" in (self.dkim, self.spf)


def token_from(recipients: list[str], domain: str) -> str | None:
    """The reply token of the first recipient at our domain, from the envelope (never the To header)."""
    for recipient in recipients:
        local, _, at = recipient.strip().lower().rpartition("@")
        found = _TOKEN.match(local)
        if at == domain.lower() and found:
            return found.group(1)
    return None


def is_auto_reply(message: EmailMessage) -> bool:
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        submitted != "no"
        or precedence in AUTO_PRECEDENCE
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
    )


def sender_address(message: EmailMessage) -> str:
    addresses = getaddresses([str(message.get("From", ""))])
    return addresses[0][1].strip().lower() if addresses else ""


class _Text(HTMLParser):
    """HTML to plain text, enough for a reply: blocks and <br> become line breaks, quotes become "> "."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.quote = 0
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self.skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.quote += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self.skip = max(0, self.skip - 1)
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(("> " * self.quote + data) if self.quote else data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return str(part.get_content())
    part = message.get_body(preferencelist=("html",))
    return html_to_text(str(part.get_content())) if part is not None else ""


def cut_quote(text: str) -> str:
    """The new text of a reply: nothing from our marker on, nor the client's attribution and quote."""
    lines = text.replace("\r\n", "\n").split("\n")
    marker = next((i for i, line in enumerate(lines) if REPLY_ABOVE in line), len(lines))
    text = "\n".join(lines[:marker])
    from mailparser_reply import EmailReplyParser  # only this function needs it: imported on first use

    replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text).replies
    text = replies[0].body if replies else text
    kept = []
    for line in text.split("\n"):
        if line.lstrip().startswith(">"):
            break
        kept.append(line)
    return "\n".join(kept).strip()


@dataclass(frozen=True)
class Outcome:
    result: str  # queued | refused | ignored
    reason: str = ""
    mention_id: str | None = None


@dataclass
class EmailReply:
    settings: "EmailReplySettings"
    addresses: ReplyAddressStore
    mentions: MentionStore
    replies: ReplyStore
    agents: AgentStore
    tokens: TokenStore
    read_raw: Callable[[str], bytes]  # the raw message SES stored, by its message id
    queue: Callable[[Reply], None]
    email_agent: Callable[[str, str, str], None]  # (agent email, subject, body)
    now: Callable[[], datetime] = utc_now

    def handle(self, record: dict[str, Any]) -> Outcome:
        domain = self.settings.reply_email_domain
        if not domain:
            return Outcome("ignored", "reply by email is off (ReplyEmailDomain empty)")
        receipt = Receipt.of(record)
        token = token_from(receipt.recipients, domain)
        address = self.addresses.find(token) if token else None
        if address is None:
            # Nobody to tell: answering an unknown sender would be backscatter.
            logger.warning("email to an unknown reply address dropped", message_id=receipt.message_id)
            return Outcome("ignored", "unknown reply address")
        now = self.now()
        message = message_from_bytes(self.read_raw(receipt.message_id), policy=policy.default)
        assert isinstance(message, EmailMessage)
        problem = self._problem(receipt, message, address.agent_email, address.valid_until < now)
        mention = self.mentions.get(address.mention_id)
        text = cut_quote(body_text(message)) if problem is None else ""
        if problem is None and mention is None:
            problem = "the mention is no longer stored"
        if problem is None and mention is not None:
            if mention.status in (MentionStatus.DELETED, MentionStatus.REMOVED):
                problem = "the customer's message is gone"
            else:
                problem = validate_reply(mention.platform, mention.kind, text)
        if problem is not None or mention is None:
            return self._refuse(address.agent_email, address.mention_id, problem or "not posted", now)
        record_ = self.agents.get(address.agent_email)
        reply = Reply(
            mention_id=mention.id,
            reply_id=reply_id_for_link(address.link_hash),
            platform=mention.platform,
            text=text,
            agent_email=address.agent_email,
            agent_name=record_.agent.name if record_ else None,
            agent_phone=record_.agent.phone if record_ else None,
            via="email",
            created_at=now,
            target_mention=mention_for_reply(mention),
        )
        outcome = self.replies.create_for_link(reply, address.link_hash, only_live_reply=True)
        if outcome is not CreateOutcome.CREATED:
            why = {
                CreateOutcome.OTHERS_LIVE: "another agent answered it already",
                CreateOutcome.TAKEN: "this notification was answered already",
            }[outcome]
            return self._refuse(address.agent_email, mention.id, why, now)
        self.queue(reply)
        logger.info("email answer queued", mention_id=mention.id, reply_id=reply.reply_id)
        return Outcome("queued", mention_id=mention.id)

    def _problem(
        self, receipt: Receipt, message: EmailMessage, agent_email: str, expired: bool
    ) -> str | None:
        if expired:
            return "this notification's reply address has expired"
        if sender_address(message) != agent_email.lower():
            return f"it came from {sender_address(message) or 'an unknown address'}, not from {agent_email}"
        if not receipt.authenticated:
            return (
                f"the sending server could not be verified (DMARC {receipt.dmarc or 'none'}, "
                f"DKIM {receipt.dkim or 'none'}, SPF {receipt.spf or 'none'})"
            )
        if is_auto_reply(message):
            return "it is an automatic reply (out of office or autoresponder)"
        return None

    def _refuse(self, agent_email: str, mention_id: str, reason: str, now: datetime) -> Outcome:
        token = self.tokens.create(mention_id, agent_email, now, self.settings.reply_link_ttl)
        link = f"{self.settings.public_base_url.rstrip('/')}/r/{token}"
        body = f"Your emailed answer was NOT posted: {reason}.\n\nAnswer on the reply page instead: {link}\n"
        self.email_agent(agent_email, "Social Care: your emailed answer was not posted", body)
        logger.info("email answer refused", mention_id=mention_id, reason=reason)
        return Outcome("refused", reason, mention_id)


def topic_emailer(sns: Any, topic_arn: str) -> Callable[[str, str, str], None]:
    """An email to one agent through the notification topic (their subscription's filter takes it)."""

    def send(agent_email: str, subject: str, body: str) -> None:
        sns.publish(
            TopicArn=topic_arn,
            Subject=subject,
            Message=body,
            MessageAttributes={"agent_id": {"DataType": "String", "StringValue": agent_id_for(agent_email)}},
        )

    return send


def s3_reader(s3: Any, bucket: str, prefix: str) -> Callable[[str], bytes]:
    def read(message_id: str) -> bytes:
        data: bytes = s3.get_object(Bucket=bucket, Key=f"{prefix}{message_id}")["Body"].read()
        return data

    return read


class EmailReplySettings(Table, ReplyLinks, ReplyQueue, Emailing, InboundMail, Notifications):
    """What answering by email reads: the domain and bucket of the answers, links, the queue, the topic."""


@one_per_process
def get_email_reply() -> EmailReply:
    from socialcare.replies.page_flow import sqs_queue  # the page's module: only its queueing is needed

    settings = load(EmailReplySettings)
    shared_table = table(settings.table_name)
    return EmailReply(
        settings=settings,
        addresses=ReplyAddressStore(shared_table),
        mentions=MentionStore(shared_table),
        replies=ReplyStore(shared_table),
        agents=AgentStore(shared_table),
        tokens=TokenStore(shared_table),
        read_raw=s3_reader(aws_client("s3"), settings.inbound_mail_bucket, "inbound/"),
        queue=sqs_queue(aws_client("sqs"), settings.reply_queue_url),
        email_agent=topic_emailer(aws_client("sns"), settings.notification_topic_arn),
    )
