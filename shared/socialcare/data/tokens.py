"""Reply-link tokens in the table (key: socialcare.data.table_map).

Only the hash is stored (socialcare.replies.tokens): whoever reads the table cannot open reply pages. The link
stops working at `link_expires_at`; the item itself stays a while longer (the table's TTL attribute
`expires_at`, epoch seconds), so the reply page can still say "this link has expired" instead of "unknown"."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare.data.dynamo import storage_errors, succeeded, table
from socialcare.data.table_map import reply_link_key
from socialcare.replies.tokens import DEFAULT_TOKEN_TTL, hash_token, is_expired, new_token, token_expiry
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

# How long a token item outlives its link before DynamoDB's TTL deletes it.
KEEP_AFTER_EXPIRY = timedelta(days=7)


@dataclass(frozen=True)
class ReplyLink:
    """What a reply-link token opens: one mention, on behalf of the agent it was sent to."""

    mention_id: str
    agent_email: str
    created_at: datetime
    expires_at: datetime  # the link's own expiry (not the item's TTL)
    used_at: datetime | None = None
    reply_id: str | None = None

    def is_expired(self, now: datetime) -> bool:
        return is_expired(self.expires_at, now)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _key(token: str) -> dict[str, str]:
    return reply_link_key(hash_token(token))


def _item_to_link(item: dict[str, Any]) -> ReplyLink:
    used_at = item.get("used_at")
    return ReplyLink(
        mention_id=str(item["mention_id"]),
        agent_email=str(item["agent_email"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        expires_at=datetime.fromisoformat(str(item["link_expires_at"])),
        used_at=datetime.fromisoformat(str(used_at)) if used_at else None,
        reply_id=str(item["reply_id"]) if item.get("reply_id") else None,
    )


def new_reply_link(
    mention_id: str, agent_email: str, now: datetime, ttl: timedelta = DEFAULT_TOKEN_TTL
) -> tuple[str, dict[str, Any]]:
    """A new raw token and the item that stores its hash. The dispatcher writes the item inside its
    assignment transaction (socialcare.data.dispatch); put it with the condition attribute_not_exists(pk)."""
    token = new_token()
    link_expires_at = token_expiry(now, ttl)
    item = {
        **_key(token),
        "entity": "reply_link",
        "mention_id": mention_id,
        "agent_email": agent_email.lower(),
        "created_at": _iso(now),
        "link_expires_at": _iso(link_expires_at),
        "expires_at": int((link_expires_at + KEEP_AFTER_EXPIRY).timestamp()),
    }
    return token, item


class TokenStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(
        self, mention_id: str, agent_email: str, now: datetime, ttl: timedelta = DEFAULT_TOKEN_TTL
    ) -> str:
        """A new reply link for `agent_email` to answer `mention_id`; returns the raw token (put it in the
        link, never in logs). Only its hash is stored."""
        token, item = new_reply_link(mention_id, agent_email, now, ttl)
        with storage_errors():
            # 256 random bits never collide; the condition makes a collision an error, not an overwrite.
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        return token

    def create_for_failed_reply(
        self,
        mention_id: str,
        agent_email: str,
        reply_id: str,
        now: datetime,
        ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> str:
        """A link that opens reply `reply_id` (one that failed), already used: its page is the reply's "Not
        posted" page with Try again, never a form for a second reply. Only the token's hash is stored."""
        token, item = new_reply_link(mention_id, agent_email, now, ttl)
        with storage_errors():
            self._table.put_item(
                Item={**item, "used_at": _iso(now), "reply_id": reply_id},
                ConditionExpression="attribute_not_exists(pk)",
            )
        return token

    def find(self, token: str) -> ReplyLink | None:
        """The link this token opens (expired or used ones too: callers decide), or None if unknown."""
        if not token:
            return None
        with storage_errors():
            item = self._table.get_item(Key=_key(token), ConsistentRead=True).get("Item")
        return _item_to_link(item) if item else None

    def mark_used(self, token: str, reply_id: str, now: datetime) -> bool:
        """Record that the link sent reply `reply_id`. Conditional: True only for the first caller, False when
        the link was already used (or never existed)."""
        return succeeded(
            lambda: self._table.update_item(
                Key=_key(token),
                UpdateExpression="SET used_at = :now, reply_id = :reply",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(used_at)",
                ExpressionAttributeValues={":now": _iso(now), ":reply": reply_id},
            )
        )


@one_per_process
def get_token_store() -> TokenStore:
    return TokenStore(table(load(Table).table_name))
