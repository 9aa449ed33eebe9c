"""Sending a text to an agent's phone: one small interface, two ways.

* SNS `Publish(PhoneNumber=...)`: AWS picks the sender; the agent cannot text back. What alerts use when the
  template parameter SmsOriginationNumber is empty.
* AWS End User Messaging SMS (`pinpoint-sms-voice-v2` `SendTextMessage`) from the two-way number: the agent's
  answer comes back to the same number (socialcare.replies.by_text). moto has no such service, so the local
  stack
  sets SMS_VIA_SNS and its outbox shows the texts as before."""

from dataclasses import dataclass
from typing import Any, Protocol

from socialcare.aws_clients import client as aws_client
from socialcare.settings import Texting


class SmsSender(Protocol):
    def send(self, phone: str, message: str) -> str:
        """Send one transactional text; returns the service's message id."""
        ...


@dataclass
class SnsSmsSender:
    sns: Any

    def send(self, phone: str, message: str) -> str:
        answer = self.sns.publish(
            PhoneNumber=phone,
            Message=message,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
        return str(answer.get("MessageId", ""))


@dataclass
class TwoWaySmsSender:
    """Texts from the two-way number, so the agent's reply reaches InboundSmsTopic."""

    client: Any  # a pinpoint-sms-voice-v2 client
    origination_number: str

    def send(self, phone: str, message: str) -> str:
        answer = self.client.send_text_message(
            DestinationPhoneNumber=phone,
            OriginationIdentity=self.origination_number,
            MessageBody=message,
            MessageType="TRANSACTIONAL",
        )
        return str(answer.get("MessageId", ""))


def sms_sender(settings: Texting, sns: Any | None = None) -> SmsSender:
    """The sender the settings ask for. The End User Messaging client is created only when it is used."""
    if settings.sms_origination_number and not settings.sms_via_sns:
        return TwoWaySmsSender(aws_client("pinpoint-sms-voice-v2"), settings.sms_origination_number)
    return SnsSmsSender(sns or aws_client("sns"))
