"""Text back in the table: the short codes alerts name (mention_id, agent_email, token_hash, valid_until;
one partition per phone), and the inbound texts already taken (keys: socialcare.data.table_map).

A code is unique among one phone's codes that are still valid: it is put with the condition that no valid
item holds it, so two alerts to one phone never share one. It carries the hash of the reply link the same
alert carries (never the token): answering by text uses that link, so the page and the text send one reply
between them (socialcare.data.replies.create_for_link). Items leave through the table's TTL (`expires_at`)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure
from socialcare.data.dynamo import query_items, storage_errors, succeeded
from socialcare.data.table_map import alert_code_key, alert_codes_partition, inbound_text_key
from socialcare.errors import StorageUnavailable

# No look-alikes: no B/8, G/6, I/1/L, O/0/Q, S/5, U/V, Z/2.
CODE_LETTERS = "ACDEFHJKMNPRTWXY"
CODE_ALPHABET = CODE_LETTERS + "3479"
CODE_ATTEMPTS = 20  # tries at two characters (320 codes) before three
INBOUND_KEEP = timedelta(days=7)  # SNS redelivers within hours; the dedupe item outlives that


@dataclass(frozen=True)
class AlertCode:
    phone: str
    code: str
    mention_id: str
    agent_email: str
    token_hash: str
    sent_at: datetime
    valid_until: datetime


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _item_to_code(item: dict[str, Any]) -> AlertCode:
    return AlertCode(
        phone=str(item["pk"]).removeprefix("SMSCODE#"),
        code=str(item["sk"]).removeprefix("CODE#"),
        mention_id=str(item["mention_id"]),
        agent_email=str(item["agent_email"]),
        token_hash=str(item["token_hash"]),
        sent_at=datetime.fromisoformat(str(item["sent_at"])),
        valid_until=datetime.fromisoformat(str(item["valid_until"])),
    )


def new_code(length: int) -> str:
    return secrets.choice(CODE_LETTERS) + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length - 1))


class AlertCodeStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def issue(
        self, phone: str, mention_id: str, agent_email: str, token_hash: str, now: datetime, ttl: timedelta
    ) -> str:
        """A code for this alert, unique among the phone's valid codes."""
        valid_until = now + ttl
        for attempt in range(CODE_ATTEMPTS * 2):
            code = new_code(2 if attempt < CODE_ATTEMPTS else 3)
            item = {
                **alert_code_key(phone, code),
                "entity": "alert_code",
                "mention_id": mention_id,
                "agent_email": agent_email.lower(),
                "token_hash": token_hash,
                "sent_at": _iso(now),
                "valid_until": _iso(valid_until),
                "expires_at": int((valid_until + timedelta(days=1)).timestamp()),
            }
            try:
                self._table.put_item(
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk) OR valid_until < :now",
                    ExpressionAttributeValues={":now": _iso(now)},
                )
            except ClientError as error:
                if is_condition_failure(error):
                    continue
                raise StorageUnavailable(str(error)) from error
            return code
        raise StorageUnavailable(f"no free alert code for a phone after {CODE_ATTEMPTS * 2} tries")

    def get(self, phone: str, code: str, now: datetime) -> AlertCode | None:
        with storage_errors():
            item = self._table.get_item(Key=alert_code_key(phone, code.upper()), ConsistentRead=True).get(
                "Item"
            )
        if not item:
            return None
        found = _item_to_code(item)
        return found if found.valid_until >= now else None

    def valid(self, phone: str, now: datetime) -> list[AlertCode]:
        """The phone's valid codes, newest alert first."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": alert_codes_partition(phone)},
            "ConsistentRead": True,
        }
        codes = [_item_to_code(item) for item in query_items(self._table, query)]
        return sorted((c for c in codes if c.valid_until >= now), key=lambda c: c.sent_at, reverse=True)

    # ---- inbound texts, each taken once
    def take_inbound(self, message_id: str, now: datetime) -> bool:
        """True for the first delivery of this inbound text, False for every repeat."""
        return succeeded(
            lambda: self._table.put_item(
                Item={
                    **inbound_text_key(message_id),
                    "entity": "inbound_sms",
                    "received_at": _iso(now),
                    "expires_at": int((now + INBOUND_KEEP).timestamp()),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        )

    def release_inbound(self, message_id: str) -> None:
        """Forget a text whose handling failed, so SNS's retry handles it again."""
        with storage_errors():
            self._table.delete_item(Key=inbound_text_key(message_id))
