"""Satisfaction surveys in the table (keys and the comments list: socialcare.data.table_map):
  survey    one per answered mention asked, by the hash of its link's token (the token is never stored);
            on the comments list once commented
  due       an answered mention to ask about (the sweep)
  request   the agent asked to survey a public mention
  customer  when this customer was last asked (one survey per customer per 14 days)
The survey carries what the reports count it under (platform, priority, the agent who answered, when the
mention was received), copied when it is sent, so the measures never read the mention again."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain
from socialcare.data.dynamo import storage_errors, succeeded
from socialcare.data.table_map import (
    COMMENTS_LIST,
    LISTS,
    SURVEY_DUE_PK,
    comment_list_entry,
    survey_due_key,
    survey_key,
    survey_request_key,
    survey_token_hash,
    surveyed_customer_key,
)
from socialcare.errors import StorageUnavailable
from socialcare.replies.tokens import hash_token

COMMENTS_INDEX_KEY = COMMENTS_LIST
DUE_PK = SURVEY_DUE_PK
# The link works 14 days; the item stays a while longer so a late visitor learns it expired (410, not 404).
KEEP_AFTER_EXPIRY = timedelta(days=30)
MAX_COMMENT_CHARS = 2000
_LIST_NAMES = {"#lpk": LISTS.partition, "#lsk": LISTS.sort}  # the comments list's attributes


_survey_key = survey_key


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class Survey:
    survey_id: str
    token_hash: str
    mention_id: str
    platform: str
    priority: str
    agent: str  # who answered the mention, recorded when the survey was sent
    received_at: datetime  # when the customer's mention came in: the day the reports count it on
    state: str  # "sent", or "failed" with failure_reason
    sent_at: datetime
    valid_until: datetime
    rating: int | None = None
    rated_at: datetime | None = None
    first_rated_at: datetime | None = None
    rating_version: int = 0
    comment: str | None = None
    failure_reason: str | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            **_survey_key(self.token_hash),
            "entity": "survey",
            "survey_id": self.survey_id,
            "mention_id": self.mention_id,
            "platform": self.platform,
            "priority": self.priority,
            "agent": self.agent,
            "received_at": _iso(self.received_at),
            "state": self.state,
            "sent_at": _iso(self.sent_at),
            "valid_until": _iso(self.valid_until),
            "rating_version": self.rating_version,
            "expires_at": int((self.valid_until + KEEP_AFTER_EXPIRY).timestamp()),
        }
        if self.failure_reason:
            item["failure_reason"] = self.failure_reason
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Survey":
        item = plain(item)
        return cls(
            survey_id=str(item["survey_id"]),
            token_hash=survey_token_hash(item),
            mention_id=str(item["mention_id"]),
            platform=str(item["platform"]),
            priority=str(item.get("priority") or "normal"),
            agent=str(item.get("agent") or ""),
            received_at=_time(item["received_at"]) or datetime.now(UTC),
            state=str(item.get("state") or "sent"),
            sent_at=_time(item["sent_at"]) or datetime.now(UTC),
            valid_until=_time(item["valid_until"]) or datetime.now(UTC),
            rating=int(item["rating"]) if item.get("rating") else None,
            rated_at=_time(item.get("rated_at")),
            first_rated_at=_time(item.get("first_rated_at")),
            rating_version=int(item.get("rating_version") or 0),
            comment=item.get("comment"),
            failure_reason=item.get("failure_reason"),
        )


class SurveyStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, survey: Survey) -> bool:
        """Store a new survey; False when one with this token hash exists already."""
        return succeeded(
            lambda: self._table.put_item(
                Item=survey.to_item(), ConditionExpression="attribute_not_exists(pk)"
            )
        )

    def get(self, token: str) -> Survey | None:
        with storage_errors():
            item = self._table.get_item(Key=_survey_key(hash_token(token))).get("Item")
        return Survey.from_item(item) if item else None

    def rate(self, survey: Survey, rating: int, now: datetime) -> bool:
        """Record (or change) the rating, conditional on nobody having changed it since `survey` was read,
        so two taps racing count as two versions, never as a lost one. False when the condition failed."""
        return self._update(
            survey,
            "SET rating = :rating, rated_at = :at, rating_version = :next, "
            "first_rated_at = if_not_exists(first_rated_at, :at)",
            {":rating": rating, ":at": _iso(now), ":next": survey.rating_version + 1},
        )

    def set_comment(self, survey: Survey, comment: str, now: datetime) -> bool:
        text = comment.strip()[:MAX_COMMENT_CHARS]
        if not text:
            # Off the comments list.
            return self._update(
                survey, "REMOVE #comment, #lpk, #lsk", {}, names={"#comment": "comment", **_LIST_NAMES}
            )
        entry = comment_list_entry(_iso(now), survey.survey_id)
        return self._update(
            survey,
            "SET #comment = :comment, commented_at = :at, #lpk = :index, #lsk = :sort",
            {
                ":comment": text,
                ":at": _iso(now),
                ":index": entry[LISTS.partition],
                ":sort": entry[LISTS.sort],
            },
            names={"#comment": "comment", **_LIST_NAMES},
        )

    def _update(
        self, survey: Survey, expression: str, values: dict[str, Any], names: dict[str, str] | None = None
    ) -> bool:
        arguments: dict[str, Any] = {
            "Key": _survey_key(survey.token_hash),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk) AND rating_version = :version",
            "ExpressionAttributeValues": {**values, ":version": survey.rating_version},
        }
        if names:
            arguments["ExpressionAttributeNames"] = names
        return succeeded(lambda: self._table.update_item(**arguments))

    def set_state(self, survey: Survey, state: str, reason: str | None = None) -> None:
        """sending -> sent (the customer has the link) or failed (with the platform's reason)."""
        values: dict[str, Any] = {":state": state, ":sending": "sending"}
        expression = "SET #state = :state"
        if reason:
            expression += ", failure_reason = :reason"
            values[":reason"] = reason[:500]
        try:
            self._table.update_item(
                Key=_survey_key(survey.token_hash),
                UpdateExpression=expression,
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise StorageUnavailable(str(error)) from error

    # ---------------------------------------------------------------- the agent asked for a survey
    def request(self, mention: Any, agent_email: str) -> None:
        """The agent ticked "Ask privately how we did" on the reply page for this public mention."""
        with storage_errors():
            self._table.put_item(
                Item={
                    **survey_request_key(mention.id),
                    "entity": "survey_request",
                    "requested_by": agent_email,
                    "expires_at": int((datetime.now(UTC) + timedelta(days=30)).timestamp()),
                }
            )

    def requested(self, mention_id: str) -> bool:
        with storage_errors():
            return "Item" in self._table.get_item(Key=survey_request_key(mention_id))

    # ---------------------------------------------------------------- answered mentions to ask about
    def schedule(self, mention_id: str, due_at: datetime) -> None:
        """Remember to ask about an answered mention at `due_at` (the same key each time: repeats are one)."""
        with storage_errors():
            self._table.put_item(
                Item={
                    **survey_due_key(_iso(due_at), mention_id),
                    "entity": "survey_due",
                    "mention_id": mention_id,
                    "expires_at": int((due_at + timedelta(days=7)).timestamp()),
                }
            )

    def due(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """(sort key, mention id) of the mentions due to be asked about, oldest first."""
        with storage_errors():
            page = self._table.query(
                KeyConditionExpression="pk = :due AND sk <= :now",
                ExpressionAttributeValues={":due": DUE_PK, ":now": _iso(now) + "~"},
                Limit=limit,
            )
        return [(str(item["sk"]), str(item["mention_id"])) for item in page.get("Items", [])]

    def reschedule(self, sort_key: str, mention_id: str, due_at: datetime) -> None:
        self.schedule(mention_id, due_at)
        self.done(sort_key)

    def done(self, sort_key: str) -> None:
        with storage_errors():
            self._table.delete_item(Key={"pk": DUE_PK, "sk": sort_key})  # the due item's key

    def release_customer(self, platform: str, author_id: str) -> None:
        """Undo claim_customer (the survey could not go out yet and will be tried again)."""
        with storage_errors():
            self._table.delete_item(Key=surveyed_customer_key(platform, author_id))

    def latest_comments(self, limit: int = 10) -> list[Survey]:
        """The newest surveys with a comment, newest first (one Query page)."""
        with storage_errors():
            page = self._table.query(**LISTS.query(COMMENTS_LIST, newest_first=True, page_size=limit))
        return [Survey.from_item(item) for item in page.get("Items", [])]

    def claim_customer(self, platform: str, author_id: str, now: datetime, every: timedelta) -> bool:
        """Whether this customer may be asked now (nobody asked them within `every`); claims it if so."""
        return succeeded(
            lambda: self._table.put_item(
                Item={
                    **surveyed_customer_key(platform, author_id),
                    "entity": "surveyed",
                    "asked_at": _iso(now),
                    "expires_at": int((now + every).timestamp()),
                },
                ConditionExpression="attribute_not_exists(pk) OR asked_at < :cutoff",
                ExpressionAttributeValues={":cutoff": _iso(now - every)},
            )
        )
