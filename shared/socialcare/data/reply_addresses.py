"""Reply-to addresses of notification emails in the table (mention_id, agent_email, link_hash; key:
socialcare.data.table_map).

Each notification email carries its own address, r-<token>@<ReplyEmailDomain>: the token is random, lower
case (some mail servers fold the case of local parts) and stored only as a hash. It carries the hash of the
reply link the same email carries: answering by email uses that link, so the page and the email send one
reply between them (socialcare.data.replies.create_for_link)."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare.data.dynamo import storage_errors
from socialcare.data.table_map import reply_address_key

TOKEN_BYTES = 20  # 160 bits: 32 base32 characters, well under the 64 of a local part


@dataclass(frozen=True)
class ReplyAddress:
    mention_id: str
    agent_email: str
    link_hash: str
    valid_until: datetime


def new_address_token() -> str:
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode().rstrip("=").lower()


def _key(token: str) -> dict[str, str]:
    return reply_address_key(hashlib.sha256(token.strip().lower().encode()).hexdigest())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ReplyAddressStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def issue(self, mention_id: str, agent_email: str, link_hash: str, now: datetime, ttl: timedelta) -> str:
        """A new reply address token for this notification email; only its hash is stored."""
        token = new_address_token()
        valid_until = now + ttl
        item = {
            **_key(token),
            "entity": "reply_address",
            "mention_id": mention_id,
            "agent_email": agent_email.lower(),
            "link_hash": link_hash,
            "valid_until": _iso(valid_until),
            "expires_at": int((valid_until + timedelta(days=7)).timestamp()),
        }
        with storage_errors():
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        return token

    def find(self, token: str) -> ReplyAddress | None:
        """What the token was issued for (expired ones too: callers decide), or None if unknown."""
        with storage_errors():
            item = self._table.get_item(Key=_key(token), ConsistentRead=True).get("Item")
        if not item:
            return None
        return ReplyAddress(
            mention_id=str(item["mention_id"]),
            agent_email=str(item["agent_email"]),
            link_hash=str(item["link_hash"]),
            valid_until=datetime.fromisoformat(str(item["valid_until"])),
        )
