"""The team pages' records in the table (keys and lists: socialcare.data.table_map):
  sign-in link  email, link_expires_at, used_at   (TTL)
  session       email, session_expires_at (TTL); on its agent's sessions list ("sign out everywhere")
  rate counter  count per scope, key and window   (TTL)
  audit entry   action, actor, subject, detail; on the audit list by time

Tokens are stored only as hashes (socialcare.replies.tokens.hash_token), like reply links: whoever reads the
table cannot sign in. Every state change is conditional: a link signs in once, and only before it expires."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain
from socialcare.data.dynamo import query_items, storage_errors, succeeded
from socialcare.data.table_map import (
    AUDIT_LIST,
    LISTS,
    audit_key,
    audit_list_entry,
    key_of,
    rate_key,
    session_key,
    sessions_list,
    sessions_list_entry,
    sign_in_link_key,
)
from socialcare.errors import StorageUnavailable
from socialcare.replies.tokens import hash_token

AUDIT_INDEX_KEY = AUDIT_LIST
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
            **sign_in_link_key(hash_token(token)),
            "entity": "sign_in_link",
            "email": email,
            "created_at": _iso(now),
            "link_expires_at": _iso(expires),  # compared as a string: ISO UTC sorts in time order
            "expires_at": _epoch(expires + KEEP_AFTER_EXPIRY),
        }
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def sign_in_link(self, token: str) -> SignInLink | None:
        item = self._get(sign_in_link_key(hash_token(token)))
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
                Key=sign_in_link_key(hash_token(token)),
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
        item = self._get(session_key(token_hash))
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
        ended = 0
        for item in query_items(self._table, LISTS.query(sessions_list(email))):
            self._call("delete_item", Key=key_of(item))
            ended += 1
        return ended

    # ---------------------------------------------------------------- rate limits
    def count_attempt(self, scope: str, key: str, now: datetime, window: timedelta, limit: int) -> bool:
        """Count one attempt in the current fixed window; False when `limit` attempts were counted already."""
        seconds = int(window.total_seconds())
        start = _epoch(now) // seconds * seconds
        return succeeded(
            lambda: self._table.update_item(
                Key=rate_key(scope, hash_token(key.strip().lower()), start),
                UpdateExpression="ADD attempts :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(attempts) OR attempts < :limit",
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":expires": start + 2 * seconds},
            )
        )

    # ---------------------------------------------------------------- audit
    def record(self, entry: AuditEntry) -> None:
        entry_id = uuid.uuid4().hex
        item = {
            **audit_key(entry_id),
            "entity": "audit",
            **audit_list_entry(entry.at, entry_id),
            "at": _iso(entry.at),
            "action": entry.action,
            "actor": entry.actor,
            "subject": entry.subject,
            "detail": entry.detail,
        }
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def audit(self, since: datetime | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries, oldest first, from `since` on."""
        query = LISTS.query(AUDIT_LIST, sort_from=_iso(since) if since is not None else None)
        entries = []
        for item in query_items(self._table, query):
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
        with storage_errors():
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def _call(self, operation: str, **arguments: Any) -> None:
        with storage_errors():
            getattr(self._table, operation)(**arguments)


def _session_item(session: Session) -> dict[str, Any]:
    return {
        **session_key(session.token_hash),
        "entity": "session",
        "email": session.email,
        **sessions_list_entry(session.email, session.created_at),
        "created_at": _iso(session.created_at),
        "session_expires_at": _epoch(session.expires_at),
        "expires_at": _epoch(session.expires_at),
    }
