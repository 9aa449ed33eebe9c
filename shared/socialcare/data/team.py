"""The team pages' records in the table:
  sign-in link  pk=SIGNIN#<sha256 of the token>   sk=SIGNIN   email, link_expires_at, used_at   (TTL)
  session       pk=SESSION#<sha256 of the token>  sk=SESSION  email, session_expires_at        (TTL)
                gsi1: SESSIONS#<email> / <created_at>   (every session of one agent: "sign out everywhere")
  rate counter  pk=RATE#<scope>#<sha256 of the key>  sk=<window start>  count                 (TTL)
  audit entry   pk=AUDIT#<id>  sk=AUDIT  gsi1: AUDIT / <at>#<id>   action, actor, subject, detail

Tokens are stored only as hashes (socialcare.replies.tokens.hash_token), like reply links: whoever reads the
table cannot sign in. Every state change is conditional: a link signs in once, and only before it expires."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain
from socialcare.errors import StorageUnavailable
from socialcare.replies.tokens import hash_token

SIGN_IN_SK = "SIGNIN"
SESSION_SK = "SESSION"
AUDIT_SK = "AUDIT"
AUDIT_INDEX_KEY = "AUDIT"
KEEP_AFTER_EXPIRY = timedelta(days=1)  # an expired link can still say "expired" for a day


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True)
class SignInLink:
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class Session:
    token_hash: str
    email: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str  # sign-in, sign-out, take, pause, resume, extra-hour
    actor: str  # the agent's email
    subject: str = ""  # a mention id, or what was changed
    detail: str = ""


class RedeemOutcome:
    SIGNED_IN = "signed_in"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class TeamStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    # ---------------------------------------------------------------- sign-in links
    def create_sign_in_link(self, token: str, email: str, now: datetime, ttl: timedelta) -> None:
        expires = now + ttl
        item = {
            "pk": f"SIGNIN#{hash_token(token)}",
            "sk": SIGN_IN_SK,
            "entity": "sign_in_link",
            "email": email,
            "created_at": _iso(now),
            "link_expires_at": _iso(expires),  # compared as a string: ISO UTC sorts in time order
            "expires_at": _epoch(expires + KEEP_AFTER_EXPIRY),
        }
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def sign_in_link(self, token: str) -> SignInLink | None:
        item = self._get({"pk": f"SIGNIN#{hash_token(token)}", "sk": SIGN_IN_SK})
        if item is None:
            return None
        return SignInLink(
            email=str(item["email"]),
            created_at=datetime.fromisoformat(str(item["created_at"])),
            expires_at=datetime.fromisoformat(str(item["link_expires_at"])),
            used_at=datetime.fromisoformat(str(item["used_at"])) if item.get("used_at") else None,
        )

    def redeem(
        self, token: str, session_token: str, now: datetime, session_ttl: timedelta
    ) -> tuple[str, Session | None]:
        """Use the sign-in link (a conditional update: it exists, is unused and unexpired), then open a
        session. Returns the outcome and, when signed in, the session."""
        link = self.sign_in_link(token)
        if link is None:
            return RedeemOutcome.UNKNOWN, None
        if link.used_at is not None:
            return RedeemOutcome.USED, None
        if now >= link.expires_at:
            return RedeemOutcome.EXPIRED, None
        session = Session(hash_token(session_token), link.email, now, now + session_ttl)
        try:
            self._table.update_item(
                Key={"pk": f"SIGNIN#{hash_token(token)}", "sk": SIGN_IN_SK},
                UpdateExpression="SET used_at = :now",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(used_at) AND link_expires_at > :now"
                ),
                ExpressionAttributeValues={":now": _iso(now)},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return RedeemOutcome.USED, None  # used at this very moment by another tap
            raise StorageUnavailable(str(error)) from error
        # The link is used up first, so two taps never open two sessions; should this put fail, the agent
        # asks for a new link.
        self._call("put_item", Item=_session_item(session), ConditionExpression="attribute_not_exists(pk)")
        return RedeemOutcome.SIGNED_IN, session

    # ---------------------------------------------------------------- sessions
    def session(self, token: str, now: datetime) -> Session | None:
        """The live session this cookie value opens, or None (unknown, forged, expired, signed out)."""
        token_hash = hash_token(token)
        item = self._get({"pk": f"SESSION#{token_hash}", "sk": SESSION_SK})
        if item is None:
            return None
        expires = datetime.fromtimestamp(int(item["session_expires_at"]), UTC)
        if now >= expires:
            return None
        return Session(
            token_hash, str(item["email"]), datetime.fromisoformat(str(item["created_at"])), expires
        )

    def end_sessions(self, email: str) -> int:
        """Delete every session of the agent (sign out everywhere); returns how many there were."""
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :sessions",
            "ExpressionAttributeValues": {":sessions": f"SESSIONS#{email}"},
        }
        ended = 0
        for item in self._query(query):
            self._call("delete_item", Key={"pk": item["pk"], "sk": item["sk"]})
            ended += 1
        return ended

    # ---------------------------------------------------------------- rate limits
    def count_attempt(self, scope: str, key: str, now: datetime, window: timedelta, limit: int) -> bool:
        """Count one attempt in the current fixed window; False when `limit` attempts were counted already."""
        seconds = int(window.total_seconds())
        start = _epoch(now) // seconds * seconds
        try:
            self._table.update_item(
                Key={"pk": f"RATE#{scope}#{hash_token(key.strip().lower())}", "sk": str(start)},
                UpdateExpression="ADD attempts :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(attempts) OR attempts < :limit",
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":expires": start + 2 * seconds},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    # ---------------------------------------------------------------- audit
    def record(self, entry: AuditEntry) -> None:
        entry_id = uuid.uuid4().hex
        item = {
            "pk": f"AUDIT#{entry_id}",
            "sk": AUDIT_SK,
            "entity": "audit",
            "gsi1pk": AUDIT_INDEX_KEY,
            "gsi1sk": f"{_iso(entry.at)}#{entry_id}",
            "at": _iso(entry.at),
            "action": entry.action,
            "actor": entry.actor,
            "subject": entry.subject,
            "detail": entry.detail,
        }
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def audit(self, since: datetime | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries, oldest first, from `since` on."""
        condition = "gsi1pk = :audit"
        values: dict[str, Any] = {":audit": AUDIT_INDEX_KEY}
        if since is not None:
            condition += " AND gsi1sk >= :since"
            values[":since"] = _iso(since)
        query = {
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        entries = []
        for item in self._query(query):
            entries.append(
                AuditEntry(
                    at=datetime.fromisoformat(str(item["at"])),
                    action=str(item["action"]),
                    actor=str(item["actor"]),
                    subject=str(item.get("subject", "")),
                    detail=str(item.get("detail", "")),
                )
            )
            if len(entries) >= limit:
                break
        return entries

    # ---------------------------------------------------------------- internals
    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return plain(item) if item else None

    def _call(self, operation: str, **arguments: Any) -> None:
        try:
            getattr(self._table, operation)(**arguments)
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error

    def _query(self, query: dict[str, Any]) -> Any:
        try:
            while True:
                page = self._table.query(**query)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                query = {**query, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error


def _session_item(session: Session) -> dict[str, Any]:
    return {
        "pk": f"SESSION#{session.token_hash}",
        "sk": SESSION_SK,
        "entity": "session",
        "email": session.email,
        "gsi1pk": f"SESSIONS#{session.email}",
        "gsi1sk": _iso(session.created_at),
        "created_at": _iso(session.created_at),
        "session_expires_at": _epoch(session.expires_at),
        "expires_at": _epoch(session.expires_at),
    }
