"""The map of the single table: every entity's key, every index and the access pattern it serves. Stores build
keys and index entries only through this module, and nothing outside socialcare.data names an index
attribute. `ENTITIES` is the same map as data (the README's table map shows it; a test keeps them equal).

Key attributes: pk (partition) and sk (sort). Indexes (each projects all attributes):
  gsi1  lists: a fixed partition per list, sorted by time or name (the mention feed, the agents' roster,
        undelivered notices, sessions of one agent, the audit log, survey comments)
  gsi2  the escalation sweep: sparse, only mentions that still need a human, sorted by when they are due
  gsi3  conversations: one partition per conversation, its mentions in the order they were written
Hashes (sha256 hex) of tokens are passed in already made: the table never holds a token itself."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Key = dict[str, str]
PK, SK = "pk", "sk"


@dataclass(frozen=True)
class Index:
    name: str
    partition: str
    sort: str
    serves: str

    @property
    def attributes(self) -> tuple[str, str]:
        return (self.partition, self.sort)

    def entry(self, partition: str, sort: str) -> dict[str, str]:
        """The attributes that put an item into this index."""
        return {self.partition: partition, self.sort: sort}

    def query(
        self,
        partition: str,
        *,
        sort_from: str | None = None,
        sort_before: str | None = None,
        sort_until: str | None = None,
        newest_first: bool = False,
        page_size: int | None = None,
    ) -> dict[str, Any]:
        """The arguments of a Query of one partition of this index, optionally one side of its sort key."""
        condition = f"{self.partition} = :partition"
        values: dict[str, Any] = {":partition": partition}
        for operator, bound in ((">=", sort_from), ("<", sort_before), ("<=", sort_until)):
            if bound is not None:
                condition += f" AND {self.sort} {operator} :bound"
                values[":bound"] = bound
        query: dict[str, Any] = {
            "IndexName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
        }
        if page_size is not None:
            query["Limit"] = page_size
        return query


LISTS = Index(
    "gsi1", "gsi1pk", "gsi1sk", "lists: mentions by time, agents, undelivered notices, sessions, audit"
)
PENDING = Index("gsi2", "gsi2pk", "gsi2sk", "the escalation sweep: mentions that still need a human, by due")
CONVERSATIONS = Index("gsi3", "gsi3pk", "gsi3sk", "a conversation's mentions, oldest first")
INDEXES = (LISTS, PENDING, CONVERSATIONS)
INDEX_ATTRIBUTES = frozenset(attribute for index in INDEXES for attribute in index.attributes)


def sortable_time(moment: datetime) -> str:
    """Fixed-width UTC ISO time (microseconds always present), so string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso(moment: datetime) -> str:
    """UTC ISO time as items store datetimes (socialcare.data.dynamo.stored)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def key_of(item: dict[str, Any]) -> Key:
    """The key of a stored item (to delete or update what a query found)."""
    return {PK: str(item[PK]), SK: str(item[SK])}


# ---------------------------------------------------------------- mentions (socialcare.data.mentions)
MENTIONS_LIST, OURS_LIST = "MENTIONS", "OURS"  # LISTS partitions: customers' mentions, our own posts
PENDING_PARTITION = "PENDING"
CONVERSATION_PREFIX = "CONVERSATION#"
TEXT_PENDING_PK = "TEXTPENDING"


def mention_key(mention_id: str) -> Key:
    return {PK: f"MENTION#{mention_id}", SK: "MENTION"}


def mention_id_of_key(partition_key: str) -> str:
    return partition_key.removeprefix("MENTION#")


def mention_list_entry(ours: bool, received_at: str, mention_id: str) -> dict[str, str]:
    return LISTS.entry(OURS_LIST if ours else MENTIONS_LIST, f"{received_at}#{mention_id}")


def pending_entry(due: datetime | str) -> dict[str, str]:
    """In the escalation sweep's index, due at `due` (a datetime, or a stored time as it is)."""
    return PENDING.entry(PENDING_PARTITION, due if isinstance(due, str) else iso(due))


def conversation_entry(conversation_id: str, created_at: datetime, mention_id: str) -> dict[str, str]:
    return CONVERSATIONS.entry(
        CONVERSATION_PREFIX + conversation_id, f"{sortable_time(created_at)}#{mention_id}"
    )


def text_pending_key(due_at: str, mention_id: str) -> Key:
    return {PK: TEXT_PENDING_PK, SK: f"{due_at}#{mention_id}"}


def delivery_key(delivery_digest: str) -> Key:
    return {PK: f"DELIVERY#{delivery_digest}", SK: "DELIVERY"}


# ---------------------------------------------------------------- agents and dispatch
AGENTS_LIST = "AGENTS"  # LISTS partition: agents, their open counts and the round robin cursor
CURSOR_LIST_SORT = "~ROUND_ROBIN"
ROSTER_VERSION = "roster_version"  # on the cursor's item: one more with every write of an agent
UNDELIVERED_LIST = "UNDELIVERED"
OPEN_ASSIGNMENT_PREFIX = "MENTION#"


def agent_key(email: str) -> Key:
    return {PK: f"AGENT#{email.strip().lower()}", SK: "AGENT"}


def agent_list_entry(email: str) -> dict[str, str]:
    return LISTS.entry(AGENTS_LIST, email)


def cursor_key() -> Key:
    return {PK: "DISPATCH", SK: "ROUND_ROBIN"}


def cursor_list_entry() -> dict[str, str]:
    return LISTS.entry(AGENTS_LIST, CURSOR_LIST_SORT)


def conversation_key(conversation_id: str) -> Key:
    return {PK: f"CONV#{conversation_id}", SK: "CONV"}


def open_count_key(email: str) -> Key:
    return {PK: f"OPEN#{email}", SK: "COUNT"}


def open_count_list_entry(email: str) -> dict[str, str]:
    return LISTS.entry(AGENTS_LIST, f"{email}#OPEN")


def open_assignment_key(email: str, mention_id: str) -> Key:
    return {PK: f"OPEN#{email}", SK: f"{OPEN_ASSIGNMENT_PREFIX}{mention_id}"}


def notice_key(mention_id: str, level: int) -> Key:
    return {PK: f"NOTICE#{mention_id}", SK: f"LEVEL#{level}"}


def undelivered_entry(created_at: datetime, mention_id: str, level: int) -> dict[str, str]:
    return LISTS.entry(UNDELIVERED_LIST, f"{iso(created_at)}#{mention_id}#{level}")


# ---------------------------------------------------------------- replies, links, answering by text and email
def reply_key(mention_id: str, reply_id: str) -> Key:
    return {PK: f"REPLY#{mention_id}", SK: f"REPLY#{reply_id}"}


def replies_partition(mention_id: str) -> str:
    return f"REPLY#{mention_id}"


REPLY_SK_PREFIX = "REPLY#"


def live_replies_key(mention_id: str) -> Key:
    return {PK: replies_partition(mention_id), SK: "LIVE"}


def private_reply_key(mention_id: str) -> Key:
    return {PK: replies_partition(mention_id), SK: "PRIVATE"}


def reply_link_key(token_hash: str) -> Key:
    return {PK: f"TOKEN#{token_hash}", SK: "TOKEN"}


def alert_code_key(phone: str, code: str) -> Key:
    return {PK: alert_codes_partition(phone), SK: f"CODE#{code}"}


def alert_codes_partition(phone: str) -> str:
    return f"SMSCODE#{phone}"


def inbound_text_key(message_id: str) -> Key:
    return {PK: f"SMSIN#{message_id}", SK: "SMSIN"}


def reply_address_key(token_hash: str) -> Key:
    return {PK: f"MAILTO#{token_hash}", SK: "MAILTO"}


# ---------------------------------------------------------------- the team pages
def sign_in_link_key(token_hash: str) -> Key:
    return {PK: f"SIGNIN#{token_hash}", SK: "SIGNIN"}


def session_key(token_hash: str) -> Key:
    return {PK: f"SESSION#{token_hash}", SK: "SESSION"}


def sessions_list_entry(email: str, created_at: datetime) -> dict[str, str]:
    return LISTS.entry(sessions_list(email), iso(created_at))


def sessions_list(email: str) -> str:
    return f"SESSIONS#{email}"


def rate_key(scope: str, key_hash: str, window_start: int) -> Key:
    return {PK: f"RATE#{scope}#{key_hash}", SK: str(window_start)}


AUDIT_LIST = "AUDIT"


def audit_key(entry_id: str) -> Key:
    return {PK: f"AUDIT#{entry_id}", SK: "AUDIT"}


def audit_list_entry(at: datetime, entry_id: str) -> dict[str, str]:
    return LISTS.entry(AUDIT_LIST, f"{iso(at)}#{entry_id}")


# ---------------------------------------------------------------- pollers, alerts
def poll_state_key(poller: str, name: str) -> Key:
    return {PK: f"POLL#{poller}#{name}", SK: "POLL"}


def daily_alert_key(subject: str, day: str) -> Key:
    return {PK: f"ALERT#{subject}", SK: day}


# ---------------------------------------------------------------- measures and surveys
COMMENTS_LIST = "SURVEYCOMMENTS"
SURVEY_DUE_PK = "SURVEYDUE"


def survey_key(token_hash: str) -> Key:
    return {PK: f"SURVEY#{token_hash}", SK: "SURVEY"}


def survey_token_hash(item: dict[str, Any]) -> str:
    return str(item[PK]).removeprefix("SURVEY#")


def comment_list_entry(commented_at: str, survey_id: str) -> dict[str, str]:
    return LISTS.entry(COMMENTS_LIST, f"{commented_at}#{survey_id}")


def survey_due_key(due_at: str, mention_id: str) -> Key:
    return {PK: SURVEY_DUE_PK, SK: f"{due_at}#{mention_id}"}


def survey_request_key(mention_id: str) -> Key:
    return {PK: f"SURVEYREQUEST#{mention_id}", SK: "SURVEYREQUEST"}


def surveyed_customer_key(platform: str, author_id: str) -> Key:
    return {PK: f"SURVEYED#{platform}#{author_id}", SK: "SURVEYED"}


def rollup_key(day: str) -> Key:
    return {PK: f"ROLLUP#{day}", SK: "ROLLUP"}


def received_key(day: str) -> Key:
    return {PK: f"RECEIVED#{day}", SK: "RECEIVED"}


def rollup_day(item: dict[str, Any]) -> str:
    """The day of a roll-up item, either of the day's two."""
    return str(item[PK]).partition("#")[2]


def measured_key(fact_key: str) -> Key:
    return {PK: f"MEASURED#{fact_key}", SK: "MEASURED"}


def weekly_report_key(week: str) -> Key:
    return {PK: f"WEEKLYREPORT#{week}", SK: "WEEKLYREPORT"}


# ---------------------------------------------------------------- the map as data
@dataclass(frozen=True)
class Entity:
    name: str  # the item's `entity` attribute
    pk: str
    sk: str
    indexes: str = ""  # which index entries it carries, and when


ENTITIES = (
    Entity("mention", "MENTION#<id>", "MENTION",
           "gsi1 MENTIONS or OURS / <received_at>#<id>; gsi2 PENDING / <due> while it needs a human; "
           "gsi3 CONVERSATION#<conversation> / <created_at>#<id>"),
    Entity("text_pending", "TEXTPENDING", "<due>#<mention id>"),
    Entity("delivery", "DELIVERY#<sha256 of delivery id>", "DELIVERY"),
    Entity("agent", "AGENT#<email>", "AGENT", "gsi1 AGENTS / <email>"),
    Entity("cursor", "DISPATCH", "ROUND_ROBIN", "gsi1 AGENTS / ~ROUND_ROBIN; also the roster's version"),
    Entity("open_count", "OPEN#<email>", "COUNT", "gsi1 AGENTS / <email>#OPEN"),
    Entity("open_assignment", "OPEN#<email>", "MENTION#<mention id>"),
    Entity("conversation", "CONV#<conversation id>", "CONV"),
    Entity("notice", "NOTICE#<mention id>", "LEVEL#<level>",
           "gsi1 UNDELIVERED / <created_at>#<mention id>#<level> until delivered"),
    Entity("reply", "REPLY#<mention id>", "REPLY#<reply id>"),
    Entity("live_replies", "REPLY#<mention id>", "LIVE"),
    Entity("private_reply", "REPLY#<mention id>", "PRIVATE"),
    Entity("reply_link", "TOKEN#<sha256 of token>", "TOKEN"),
    Entity("alert_code", "SMSCODE#<phone>", "CODE#<code>"),
    Entity("inbound_sms", "SMSIN#<message id>", "SMSIN"),
    Entity("reply_address", "MAILTO#<sha256 of token>", "MAILTO"),
    Entity("sign_in_link", "SIGNIN#<sha256 of token>", "SIGNIN"),
    Entity("session", "SESSION#<sha256 of token>", "SESSION", "gsi1 SESSIONS#<email> / <created_at>"),
    Entity("rate", "RATE#<scope>#<sha256 of key>", "<window start>"),
    Entity("audit", "AUDIT#<id>", "AUDIT", "gsi1 AUDIT / <at>#<id>"),
    Entity("poll_state", "POLL#<poller>#<name>", "POLL"),
    Entity("alert", "ALERT#<subject>", "<UTC date>"),
    Entity("survey", "SURVEY#<sha256 of token>", "SURVEY",
           "gsi1 SURVEYCOMMENTS / <commented_at>#<id> once commented"),
    Entity("survey_due", "SURVEYDUE", "<due>#<mention id>"),
    Entity("survey_request", "SURVEYREQUEST#<mention id>", "SURVEYREQUEST"),
    Entity("surveyed", "SURVEYED#<platform>#<author id>", "SURVEYED"),
    Entity("rollup", "ROLLUP#<YYYY-MM-DD>", "ROLLUP"),  # the day's answers, ratings and response times
    Entity("received", "RECEIVED#<YYYY-MM-DD>", "RECEIVED"),  # the day's mentions received
    Entity("measured", "MEASURED#<fact key>", "MEASURED"),
    Entity("weekly_report", "WEEKLYREPORT#<week>", "WEEKLYREPORT"),
)  # fmt: skip
