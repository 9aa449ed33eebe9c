"""Text back: an agent answers an alert by texting the two-way number it came from.

AWS End User Messaging SMS publishes each inbound text to InboundSmsTopic as a JSON string (originationNumber,
destinationNumber, messageBody, inboundMessageId, ...). Each is taken once (keyed on inboundMessageId), then:

* The sender must be an active agent's phone. A stranger gets nothing back: no answer tells a spoofer
  anything, and nothing is posted.
* STOP (and AWS's other opt-out words) marks the agent opted out of texts: emails only, until START. HELP is
  answered with how text back works.
* `UNDO <code>` deletes, within UNDO_WINDOW of its posting, the reply that answered that code, through the
  platform's API.
* Otherwise the text is an answer: `A7 ...`, `#A7 ...`, `a7: ...`, `A7 - ...` names the alert (the code must
  be one sent to this phone, socialcare.data.sms_codes); with no code, the one alert of the last
  SINGLE_ALERT_WINDOW is meant, and with none or several the agent is asked "Which one?".
* The answer takes the reply page's path: the same length rules, the alert's own reply link (so the page
  and the text send one reply between them), the same reply queue and sender, which texts the confirmation
  with UNDO once it is posted (socialcare.replies.sender)."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict

from socialcare.aws_clients import client as aws_client
from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore
from socialcare.data.mentions import MentionStore
from socialcare.data.replies import (
    CreateOutcome,
    Reply,
    ReplyState,
    ReplyStore,
    mention_for_reply,
    reply_id_for_link,
)
from socialcare.data.sms_codes import AlertCode, AlertCodeStore
from socialcare.data.tokens import TokenStore
from socialcare.dispatch.notices import MAX_SMS_SEGMENTS, sms_segments
from socialcare.dispatch.sms import SmsSender, sms_sender
from socialcare.modeling import Model
from socialcare.models import Mention, MentionKind, MentionStatus, utc_now
from socialcare.observability import logger
from socialcare.platform_config import PlatformConfig, get_platform_config
from socialcare.platforms import registry
from socialcare.replies.page_view import platform_label, validate_reply
from socialcare.settings import PlatformSections, ReplyLinks, ReplyQueue, Table, Texting, load
from socialcare.singletons import one_per_process

UNDO_WINDOW = timedelta(minutes=5)
SINGLE_ALERT_WINDOW = timedelta(hours=2)
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "OPTIN"})
HELP_WORDS = frozenset({"HELP", "INFO"})
CLOSED = (MentionStatus.DELETED, MentionStatus.REMOVED, MentionStatus.OURS)
# "#A7 text", "A7: text", "a7 - text", "A7 text". Any two or three letters and digits are a candidate; one
# that is marked (# or a separator), has a digit or is one of the phone's codes counts as a code (resolve), so
# a mistyped code is asked about instead of being posted to the customer as part of the answer.
_SEPARATOR = r"(?:\s*([:\-\u2013\u2014])\s*|\s+|$)"  # ":", "-", en or em dash, or just a space
_LEADING_CODE = re.compile(rf"^\s*(#)?([A-Za-z0-9]{{2,3}}){_SEPARATOR}(.*)$", re.DOTALL)
_UNDO = re.compile(r"^\s*undo\s+#?(\w{2,3})\s*[.!]?\s*$", re.IGNORECASE)


class InboundText(Model):
    """The JSON AWS publishes for an inbound text (two-way SMS payload)."""

    model_config = ConfigDict(extra="ignore")

    originationNumber: str
    destinationNumber: str
    messageBody: str = ""
    inboundMessageId: str
    messageKeyword: str = ""
    previousPublishedMessageId: str = ""


def parse_inbound(message: str) -> InboundText:
    """The SNS record's Message string; ValueError when it is not AWS's payload."""
    return InboundText.model_validate(json.loads(message))


@dataclass(frozen=True)
class Parsed:
    code: str | None  # upper case
    text: str
    marked: bool  # the code was written with # or a separator: meant as a code even when unknown


def split_code(body: str) -> Parsed:
    """The code an answer starts with, if any, and the answer itself. A bare first word is only a
    candidate: it counts as a code if it is one of the phone's codes or has a digit (see resolve)."""
    found = _LEADING_CODE.match(body)
    if found is None:
        return Parsed(None, body.strip(), False)
    marked = bool(found.group(1) or found.group(3))
    return Parsed(found.group(2).upper(), found.group(4).strip(), marked)


@dataclass(frozen=True)
class Outcome:
    # off | duplicate | stranger | opted_out | opted_in | help | queued | which_one | refused | undone
    result: str
    mention_id: str | None = None
    reply_id: str | None = None


@dataclass
class TextBack:
    settings: "TextBackSettings"
    codes: AlertCodeStore
    agents: AgentStore
    mentions: MentionStore
    replies: ReplyStore
    tokens: TokenStore
    sms: SmsSender
    queue: Callable[[Reply], None]
    config: Callable[[], PlatformConfig]
    now: Callable[[], datetime] = utc_now

    def handle(self, message: str) -> Outcome:
        if not self.settings.sms_origination_number:
            logger.warning("an inbound text arrived while text back is off (SmsOriginationNumber empty)")
            return Outcome("off")
        inbound = parse_inbound(message)
        now = self.now()
        if not self.codes.take_inbound(inbound.inboundMessageId, now):
            logger.info("inbound text seen before", inbound_message_id=inbound.inboundMessageId)
            return Outcome("duplicate")
        try:
            return self._handle(inbound, now)
        except Exception:
            self.codes.release_inbound(inbound.inboundMessageId)  # SNS's retry handles it again
            raise

    def _handle(self, inbound: InboundText, now: datetime) -> Outcome:
        phone = inbound.originationNumber
        record = next((r for r in self.agents.records() if r.agent.phone == phone), None)
        body = inbound.messageBody.strip()
        word = body.split()[0].upper().strip(".!") if body else ""
        if record is not None and word in OPT_OUT_WORDS | OPT_IN_WORDS and len(body.split()) == 1:
            return self._opt(record, opted_out=word in OPT_OUT_WORDS)  # inactive agents too
        if record is None or not record.agent.active:
            from socialcare.dispatch.notifier import mask_phone  # not needed for every text

            logger.warning("inbound text from a number that is no active agent's", phone=mask_phone(phone))
            return Outcome("stranger")
        if word in HELP_WORDS and len(body.split()) == 1:
            self._text(
                phone,
                "Social Care: answer an alert by texting its code and your answer (A7 On it!). "
                "UNDO A7 within 5 minutes deletes it. STOP: emails only.",
            )
            return Outcome("help")
        undo = _UNDO.match(body)
        if undo:
            return self._undo(record, undo.group(1).upper(), now)
        return self._answer(record, body, now)

    def _opt(self, record: AgentRecord, *, opted_out: bool) -> Outcome:
        agent = record.agent.model_copy(update={"sms_opted_out": opted_out})
        self.agents.save(AgentRecord(agent, record.subscription_arn, record.created_at, self.now()))
        logger.info(
            "agent opted out of texts" if opted_out else "agent opted in to texts", agent_id=record.agent_id
        )
        return Outcome("opted_out" if opted_out else "opted_in")

    # ---- an answer
    def _answer(self, record: AgentRecord, body: str, now: datetime) -> Outcome:
        phone = record.agent.phone
        parsed = split_code(body)
        valid = self.codes.valid(phone, now)
        by_code = {code.code: code for code in valid}
        alert: AlertCode | None = None
        text = body
        if parsed.code is not None and parsed.code in by_code:
            alert, text = by_code[parsed.code], parsed.text
        elif parsed.code is not None and (parsed.marked or any(c.isdigit() for c in parsed.code)):
            return self._which_one(phone, valid, now, f"{parsed.code} is not one of your open alerts.")
        else:
            recent = [code for code in valid if now - code.sent_at <= SINGLE_ALERT_WINDOW]
            if len(recent) != 1:
                return self._which_one(phone, valid, now, None)
            alert = recent[0]
        mention = self.mentions.get(alert.mention_id)
        if mention is None or mention.status in CLOSED:
            return self._which_one(phone, valid, now, f"{alert.code} is not open any more.")
        problem = validate_reply(mention.platform, mention.kind, text)
        if problem is not None:
            return self._refuse(record, alert, mention, problem, now)
        reply = Reply(
            mention_id=mention.id,
            reply_id=reply_id_for_link(alert.token_hash),
            platform=mention.platform,
            text=text,
            agent_email=record.email,
            agent_name=record.agent.name,
            agent_phone=phone,
            via="sms",
            sms_code=alert.code,
            created_at=now,
            target_mention=mention_for_reply(mention),
        )
        outcome = self.replies.create_for_link(reply, alert.token_hash, only_live_reply=True)
        if outcome is CreateOutcome.OTHERS_LIVE:
            others = [r for r in self.replies.for_mention(mention.id) if r.state is not ReplyState.FAILED]
            who = ", ".join(dict.fromkeys(r.agent_name or r.agent_email for r in others)) or "someone"
            return self._refuse(record, alert, mention, f"{who} answered it already", now)
        if outcome is CreateOutcome.TAKEN:
            return self._refuse(record, alert, mention, "this alert was answered already", now)
        self.queue(reply)
        logger.info("text answer queued", mention_id=mention.id, reply_id=reply.reply_id)
        return Outcome("queued", mention.id, reply.reply_id)

    def _refuse(
        self, record: AgentRecord, alert: AlertCode, mention: Mention, reason: str, now: datetime
    ) -> Outcome:
        """Not posted: the reason, and a fresh reply link (only the old one's hash is stored)."""
        token = self.tokens.create(mention.id, record.email, now, self.settings.reply_link_ttl)
        link = f"{self.settings.public_base_url.rstrip('/')}/r/{token}"
        reason = reason if len(reason) <= 110 else reason[:107] + "..."
        self._text(record.agent.phone, f"NOT posted ({alert.code}): {reason}\n{link}")
        logger.info("text answer refused", mention_id=mention.id, reason=reason)
        return Outcome("refused", mention.id)

    def _which_one(self, phone: str, valid: list[AlertCode], now: datetime, note: str | None) -> Outcome:
        mentions = self.mentions.get_many({code.mention_id for code in valid}) if valid else {}
        choices = [
            f"{code.code} {_who(mention)} ({platform_label(mention.platform)})"
            for code in valid
            if (mention := mentions.get(code.mention_id)) is not None and _is_open(mention)
        ]
        head = f"{note} " if note else ""
        if not choices:
            self._text(phone, f"{head}You have no open alerts to answer.".strip())
            return Outcome("which_one")
        message = f"{head}Which one? " + ", ".join(choices)
        while len(choices) > 1 and sms_segments(message) > MAX_SMS_SEGMENTS:
            choices.pop()
            message = f"{head}Which one? " + ", ".join(choices) + ", ..."
        self._text(phone, message)
        return Outcome("which_one")

    # ---- undo
    def _undo(self, record: AgentRecord, code: str, now: datetime) -> Outcome:
        phone = record.agent.phone
        alert = self.codes.get(phone, code, now)
        reply = self.replies.get(alert.mention_id, reply_id_for_link(alert.token_hash)) if alert else None
        if reply is None or reply.state is not ReplyState.SENT or not reply.platform_reply_id:
            self._text(phone, f"Nothing to undo for {code}: no reply of yours was posted for it.")
            return Outcome("refused")
        label = registry.label(reply.platform, self.config())  # a feed's label is in the configuration
        if reply.undone_at is not None:
            self._text(phone, f"Your reply for {code} was deleted already.")
            return Outcome("undone", reply.mention_id, reply.reply_id)
        if reply.sent_at is None or now - reply.sent_at > UNDO_WINDOW:
            self._text(phone, f"Too late to undo {code} (5 minutes). Delete it on {label} directly.")
            return Outcome("refused", reply.mention_id, reply.reply_id)
        from socialcare.platforms.base import ReplyFailed

        mention = reply.target_mention or self.mentions.get(reply.mention_id)
        kind = mention.kind if mention is not None else MentionKind.COMMENT
        if not registry.can_delete(reply.platform, kind, self.config()):
            self._text(phone, f"{label} does not allow deleting your reply for {code}: it stays on {label}.")
            return Outcome("refused", reply.mention_id, reply.reply_id)
        try:
            registry.delete_reply(reply.platform, mention, reply.platform_reply_id, self.config())
        except ReplyFailed as failure:
            self._text(
                phone,
                f"Could not delete your reply for {code} ({failure.reason[:80]}). "
                f"Delete it on {label} directly.",
            )
            logger.warning("undo failed", reply_id=reply.reply_id, reason=failure.reason)
            return Outcome("refused", reply.mention_id, reply.reply_id)
        if mention is not None:
            self.replies.mark_undone(reply, mention, now)
        token = self.tokens.create(reply.mention_id, record.email, now, self.settings.reply_link_ttl)
        link = f"{self.settings.public_base_url.rstrip('/')}/r/{token}"
        self._text(phone, f"Deleted your reply to {_who(mention)} on {label}. Answer again: {link}")
        logger.info("reply undone", reply_id=reply.reply_id, mention_id=reply.mention_id)
        return Outcome("undone", reply.mention_id, reply.reply_id)

    def _text(self, phone: str, message: str) -> None:
        self.sms.send(phone, message)


def _is_open(mention: Mention) -> bool:
    return mention.status not in CLOSED and mention.answered_at is None


def _who(mention: Mention | None) -> str:
    if mention is None:
        return "the customer"
    author = mention.author
    return f"@{author.handle}" if author.handle else (author.name or "the customer")


def confirmation_text(reply: Reply, who: str, deletable: bool = True, label: str | None = None) -> str:
    """What the agent gets once a texted answer is posted: with UNDO where the platform allows deleting."""
    label = label or platform_label(reply.platform)
    if not deletable:
        return f"Posted to {who[:30]} on {label}. {label} does not allow deleting it from here."
    return f"Posted to {who[:30]} on {label}. Reply UNDO {reply.sms_code} within 5 minutes to delete it."


class TextBackSettings(Table, ReplyLinks, ReplyQueue, Texting, PlatformSections):
    """What answering by text reads: the two-way number, links, the reply queue, every platform (UNDO)."""


def build_text_back(
    settings: TextBackSettings, sms: SmsSender | None = None, sqs: Any | None = None
) -> TextBack:
    from socialcare.replies.page_flow import sqs_queue  # the page's module: only its queueing is needed

    shared_table = table(settings.table_name)
    return TextBack(
        settings=settings,
        codes=AlertCodeStore(shared_table),
        agents=AgentStore(shared_table),
        mentions=MentionStore(shared_table),
        replies=ReplyStore(shared_table),
        tokens=TokenStore(shared_table),
        sms=sms or sms_sender(settings),
        queue=sqs_queue(sqs or aws_client("sqs"), settings.reply_queue_url),
        config=get_platform_config,
    )


@one_per_process
def get_text_back() -> TextBack:
    return build_text_back(load(TextBackSettings))
