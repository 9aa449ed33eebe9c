"""Notification emails with a reply address, sent through SES (reply to the email,
socialcare.replies.by_email).

SNS emails cannot carry a Reply-To (an answer to one goes to SNS), so with ReplyEmailDomain set the dispatcher
sends each notification email itself: from alerts@<domain>, to the agent, Reply-To r-<token>@<domain>. The
raw MIME is built here because SES's simple content's ReplyToAddresses is what moto ignores."""

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from socialcare.aws_clients import client as aws_client

SENDER_NAME = "Social Care"


def notification_message(domain: str, to: str, reply_token: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{SENDER_NAME} <alerts@{domain}>"
    message["To"] = to
    message["Reply-To"] = f"r-{reply_token}@{domain}"
    message["Subject"] = subject
    # Autoresponders must not answer a notification (RFC 3834); their answers would be refused anyway.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


@dataclass
class SesMailer:
    ses: Any  # an sesv2 client

    def send(self, message: EmailMessage) -> str:
        answer = self.ses.send_email(
            FromEmailAddress=str(message["From"]),
            Destination={"ToAddresses": [str(message["To"])]},
            Content={"Raw": {"Data": message.as_bytes()}},
        )
        return str(answer.get("MessageId", ""))


def ses_mailer() -> SesMailer:
    return SesMailer(aws_client("sesv2"))
