"""Daily roll-ups of the measures, kept from the table stream exactly once, in two items per day (UTC) whose
attributes "<group>|<counter>" hold numbers, groups "all", "platform=x", "priority=urgent", "agent=<email>",
"hour=13":
(keys: socialcare.data.table_map)
  received  the mentions received: counter `mentions` of the groups
                                                  all, platform, priority and hour, under 1 KB. Every
                                                  customer's mention adds to it, so a viral burst writes a
                                                  small item (1 write unit, 2 in a transaction), not the
                                                  answers' one.
  answers   everything else: answered, met, missed, sent, responses,
                                                  r1..r5, f<bucket> (first response histogram), d0..d4 (the
                                                  report's distribution ranges), per group and agent. Only
                                                  a person answering or a customer rating adds to it: it is
                                                  written at the team's pace, whatever the customers' pace.
  marker    the fact was counted (TTL: outlives the stream's 24 h)
An agent's group is stored as "a=<10 hex of the email's SHA-256>", beside a string attribute of that name
holding the email: an agent's ~150 counters would otherwise spell the email out each time, most of the
answers item's bytes (and write units).
A fact's marker and its counters are written in one transaction that expects no marker: a stream record
delivered twice, or two invocations racing on it, count once. Every fact of a day updates one of the day's
items, so concurrent shards collide on it: socialcare.data.dynamo's conflict policy retries them. A year's
report reads 730 items."""

import hashlib
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from socialcare.data import table_map
from socialcare.data.dynamo import Update, put_if_absent, storage_errors, table, transact
from socialcare.measures.figures import DISTRIBUTION, Counters, Fact
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

# The stream keeps records 24 hours; Lambda retries within that. A week leaves room for a replayed shard.
MARKER_TTL = timedelta(days=7)
# The day's answers item (before the split, it held the received counters too: read, they still add).
rollup_key = table_map.rollup_key
received_key = table_map.received_key


def item_key(fact: Fact) -> dict[str, str]:
    """Which of its day's two items a fact adds to: a mention received to the small one, the rest to the
    answers item."""
    return received_key(fact.day) if set(fact.counts) == {"mentions"} else rollup_key(fact.day)


def days_between(since: date, until: date) -> list[str]:
    """Every day from `since` to `until`, both included, as roll-up day names."""
    return [(since + timedelta(days=n)).isoformat() for n in range((until - since).days + 1)]


AGENT_GROUP = "agent="
AGENT_KEY = "a="


def _stored(group: str) -> str:
    if group.startswith(AGENT_GROUP):
        return AGENT_KEY + hashlib.sha256(group.removeprefix(AGENT_GROUP).encode()).hexdigest()[:10]
    return group


def attributes_of(fact: Fact) -> dict[str, int]:
    """The roll-up attributes a fact adds to (attribute name -> amount)."""
    return {
        f"{_stored(group)}|{counter}": amount
        for group in fact.groups
        for counter, amount in fact.counts.items()
    }


def labels_of(fact: Fact) -> dict[str, str]:
    """The string attributes a fact sets beside its counters: each agent's stored key -> their email."""
    return {_stored(g): g.removeprefix(AGENT_GROUP) for g in fact.groups if g.startswith(AGENT_GROUP)}


def add_in_memory(item: dict[str, Any], fact: Fact) -> None:
    """What RollupStore.record does to the fact's item, on a dict (for generated data: bench, tests)."""
    for attribute, amount in attributes_of(fact).items():
        item[attribute] = item.get(attribute, 0) + amount
    item.update(labels_of(fact))


def counters_of_item(item: dict[str, Any]) -> dict[str, Counters]:
    """A roll-up item's attributes as Counters per group (agents' keys named by their emails again)."""
    groups: dict[str, Counters] = {}
    for name, value in item.items():
        group, separator, counter = name.rpartition("|")
        if not separator:
            continue
        if group.startswith(AGENT_KEY):
            group = AGENT_GROUP + str(item.get(group) or group.removeprefix(AGENT_KEY))
        counters = groups.setdefault(group, Counters())
        amount = int(value)
        if counter in ("mentions", "answered", "met", "missed", "sent", "responses"):
            setattr(counters, counter, getattr(counters, counter) + amount)
        elif counter[0] == "r" and counter[1:].isdigit():
            counters.ratings[int(counter[1:])] = counters.ratings.get(int(counter[1:]), 0) + amount
        elif counter[0] == "f" and counter[1:].isdigit():
            counters.histogram[int(counter[1:])] = amount
        elif counter[0] == "d" and counter[1:].isdigit() and int(counter[1:]) < len(DISTRIBUTION):
            counters.distribution[int(counter[1:])] += amount
    return groups


class RollupStore:
    def __init__(self, table: Any) -> None:
        self.table = table
        self.items_read = 0  # what reports cost: `make bench` reads it

    def record(self, fact: Fact) -> bool:
        """Count `fact` once: False when it was counted before (a repeated stream record)."""
        marker = {
            **table_map.measured_key(fact.key),
            "entity": "measured",
            "expires_at": int(time.time() + MARKER_TTL.total_seconds()),
        }
        counters = Update(labels_of(fact), add_fields=attributes_of(fact), must_exist=False)
        writes = [
            {"Put": {"Item": marker, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": counters.request(item_key(fact))},
        ]
        return not transact(self.table, writes)  # only the marker has a condition

    def read(self, days: Iterable[str]) -> dict[str, dict[str, Counters]]:
        """The roll-ups of these days, both items of each added together (batched reads, 100 keys a call);
        days without one are absent."""
        wanted = [key for day in dict.fromkeys(days) for key in (received_key(day), rollup_key(day))]
        found: dict[str, dict[str, Counters]] = {}
        client = self.table
        for start in range(0, len(wanted), 100):
            keys = wanted[start : start + 100]
            request: dict[str, Any] = {self.table.name: {"Keys": keys}}
            with storage_errors():
                while request:
                    answer = client.batch_get_item(RequestItems=request)
                    for item in answer["Responses"].get(self.table.name, []):
                        self.items_read += 1
                        groups = found.setdefault(table_map.rollup_day(item), {})
                        for group, counters in counters_of_item(item).items():
                            groups.setdefault(group, Counters()).add(counters)
                    request = answer.get("UnprocessedKeys") or {}
        return found


@one_per_process
def get_rollup_store() -> RollupStore:
    """The roll-ups of this function's table, created once per execution environment."""
    return RollupStore(table(load(Table).table_name))


def claim_weekly_report(table: Any, week: str, now: datetime) -> bool:
    """True once per `week` (its first day): the weekly email is sent by whoever claims it."""
    item = {
        **table_map.weekly_report_key(week),
        "entity": "weekly_report",
        "claimed_at": now.isoformat(),
        "expires_at": int((now + timedelta(days=60)).timestamp()),
    }
    return put_if_absent(table, item)
