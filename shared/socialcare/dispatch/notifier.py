"""Telling an agent: one text or one email per call (SNS, or End User Messaging SMS and SES when the two-way
number and the reply address are set), with the reply link first. Which failures can never succeed (a number
SNS cannot text) is decided here; when, to whom and how often is socialcare.dispatch.delivery's."""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from socialcare.data.agents import AgentRecord, agent_id_for
from socialcare.data.reply_addresses import ReplyAddressStore
from socialcare.data.sms_codes import AlertCodeStore
from socialcare.data.tokens import TokenStore
from socialcare.dispatch.notices import REPLY_ABOVE, email_body, email_subject, sms_text
from socialcare.dispatch.sms import SmsSender, sms_sender
from socialcare.models import Agent, Mention, MentionStatus
from socialcare.observability import logger
from socialcare.replies.tokens import hash_token
from socialcare.settings import Emailing, Notifications, ReplyLinks, Texting

if TYPE_CHECKING:  # socialcare.dispatch.mail is imported only when emails go through SES (ReplyEmailDomain)
    from socialcare.dispatch.mail import SesMailer

# A delivery attempt holds its notice this long when the invocation does not say how long it has left.
DEFAULT_CLAIM = timedelta(minutes=1)
# What is left of this invocation, in milliseconds (the Lambda context's get_remaining_time_in_millis).
RemainingMs = Callable[[], int]
# A run starts no new delivery with less than this left: one stopped between SNS accepting a text and the
# notice recording it leaves that text to be sent again by the next run.
FINISH_MARGIN_MS = 10_000


class InvocationEndingSoon(Exception):
    """Too little of the invocation is left to start a delivery: the mention is left for a later run."""


def time_is_short(remaining_ms: RemainingMs | None) -> bool:
    return remaining_ms is not None and remaining_ms() < FINISH_MARGIN_MS


def claim_window(remaining_ms: RemainingMs | None) -> timedelta:
    """How long a delivery attempt holds its notice: what is left of this invocation (a run that times out
    never blocks the notice for longer), else a minute. Asked per attempt, never stored: the time left belongs
    to one invocation, and the dispatcher outlives it."""
    if remaining_ms is None:
        return DEFAULT_CLAIM
    return timedelta(milliseconds=max(1000, int(remaining_ms())))


# What SNS answers for a message it will never send (a number it cannot text, a message too long): retrying
# cannot help, so such a notification is recorded as failed and the leads are told instead.
PERMANENT_SNS_ERRORS = frozenset(
    {
        "InvalidParameter",
        "InvalidParameterValue",
        # The same from End User Messaging SMS (a number it cannot text, or one that opted out: Conflict)
        # and SES (a message it rejects), which send instead with SmsOriginationNumber and ReplyEmailDomain.
        "ValidationException",
        "ConflictException",
        "MessageRejected",
    }
)


def never_succeeds(error: Exception) -> bool:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in PERMANENT_SNS_ERRORS
    return isinstance(error, ValueError)  # an SMS the reply link cannot fit in (socialcare.dispatch.notices)


class NotificationFailed(Exception):
    """At least one text or email of a notice could not be sent; the notice stays undelivered."""


def mask_phone(phone: str) -> str:
    """+14155550123 -> +141******23: enough to tell numbers apart in logs, not enough to call."""
    return phone[:4] + "*" * max(0, len(phone) - 6) + phone[-2:] if len(phone) > 6 else "***"


class NotifierSettings(Notifications, ReplyLinks, Texting, Emailing):
    """What notifying reads: the topic, the reply links, and whether texts and emails can be answered."""


class Notifier:
    """Sends one notification per call: a text (SNS or End User Messaging SMS) or an email (SNS or SES)."""

    def __init__(
        self,
        settings: "NotifierSettings",
        tokens: TokenStore,
        sns: Any,
        codes: AlertCodeStore | None = None,
        sms: SmsSender | None = None,
        addresses: ReplyAddressStore | None = None,
        mailer: "SesMailer | None" = None,
    ) -> None:
        self._settings = settings
        self.tokens = tokens
        self._sns = sns
        # Text back is on when the two-way number is set: each alert then names a code
        # (socialcare.replies.by_text).
        self._codes = codes if settings.sms_origination_number else None
        self._sms = sms or sms_sender(settings, sns)
        # Reply to the email is on when ReplyEmailDomain is set: emails go through SES with a reply address.
        self._addresses = addresses if settings.reply_email_domain else None
        self._mailer = mailer
        if self._addresses is not None and mailer is None:
            from socialcare.dispatch.mail import ses_mailer

            self._mailer = ses_mailer()

    @property
    def sns(self) -> Any:
        return self._sns

    def link(self, token: str) -> str:
        return f"{self._settings.public_base_url.rstrip('/')}/r/{token}"

    def send(
        self,
        channel: str,
        mention: Mention,
        recipient: AgentRecord,
        level: int,
        conversation: list[Mention],
        link: str,
        now: datetime | None = None,
    ) -> None:
        if channel == "sms":
            phone = recipient.agent.phone
            code = None
            if self._codes is not None:
                token = link.rsplit("/", 1)[-1]  # the link ends in its token: /r/<token>
                code = self._codes.issue(
                    phone,
                    mention.id,
                    recipient.email,
                    hash_token(token),
                    now or mention.received_at,
                    self._settings.reply_link_ttl,
                )
            self._sms.send(phone, sms_text(mention, link, code))
            logger.info(
                "text sent",
                mention_id=mention.id,
                escalation_level=level,
                agent_id=recipient.agent_id,
                phone=mask_phone(phone),
            )
            return
        note = None
        if level > 0 and mention.status is MentionStatus.OPENED:
            note = f"Escalation level {level}: an agent is on it, but nobody has answered it yet."
        elif level > 0:
            note = f"Escalation level {level}: nobody has opened this mention yet."
        body = email_body(mention, conversation, link, note)
        if self._addresses is not None and self._mailer is not None:
            domain = self._settings.reply_email_domain
            reply_token = self._addresses.issue(
                mention.id,
                recipient.email,
                hash_token(link.rsplit("/", 1)[-1]),
                now or mention.received_at,
                self._settings.reply_link_ttl,
            )
            from socialcare.dispatch.mail import notification_message

            body = f"{REPLY_ABOVE}\n\n{body}"
            subject = email_subject(mention)
            self._mailer.send(notification_message(domain, recipient.email, reply_token, subject, body))
            logger.info("email sent with a reply address", mention_id=mention.id, agent_id=recipient.agent_id)
            return
        self._sns.publish(
            TopicArn=self._settings.notification_topic_arn,
            Subject=email_subject(mention),
            Message=body,
            MessageAttributes={"agent_id": {"DataType": "String", "StringValue": recipient.agent_id}},
        )
        logger.info("email sent", mention_id=mention.id, escalation_level=level, agent_id=recipient.agent_id)

    def alert_leads(self, agents: Iterable[Agent], subject: str, message: str) -> None:
        """One email per active lead (their subscription's filter policy selects their agent_id)."""
        leads = [agent for agent in agents if agent.lead and agent.active]
        if not leads:
            logger.error("no lead to alert: make an agent a lead with the socialcare agents command")
        for lead in leads:
            self._sns.publish(
                TopicArn=self._settings.notification_topic_arn,
                Subject=subject,
                Message=message,
                MessageAttributes={
                    "agent_id": {"DataType": "String", "StringValue": agent_id_for(lead.email)}
                },
            )
