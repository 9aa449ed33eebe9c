"""Daily roll-ups of the measures, kept from the table stream exactly once (keys: socialcare.data.table_map):
  roll-up   one item per day (UTC); attributes "<group>|<counter>" hold
            numbers, groups "all", "platform=x", "priority=urgent", "agent=<email>", "hour=13"; counters
            mentions, answered, met, missed, sent, responses, r1..r5, f<bucket> (first response histogram),
            d0..d4 (the report's distribution ranges)
  marker    the fact was counted (TTL: outlives the stream's 24 h)
A fact's marker and its counters are written in one transaction that expects no marker: a stream record
delivered twice, or two invocations racing on it, count once. Every fact of a day updates the day's item, so
concurrent shards collide on it: socialcare.data.dynamo's conflict policy retries them. A year's report reads
365 items."""

import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from socialcare.data import table_map
from socialcare.data.dynamo import Update, put_if_absent, storage_errors, table, transact
from socialcare.measures.figures import DISTRIBUTION, Counters, Fact
from socialcare.settings import get_settings
from socialcare.singletons import one_per_process

# The stream keeps records 24 hours; Lambda retries within that. A week leaves room for a replayed shard.
MARKER_TTL = timedelta(days=7)
rollup_key = table_map.rollup_key


def days_between(since: date, until: date) -> list[str]:
    """Every day from `since` to `until`, both included, as roll-up day names."""
    return [(since + timedelta(days=n)).isoformat() for n in range((until - since).days + 1)]


def attributes_of(fact: Fact) -> dict[str, int]:
    """The roll-up attributes a fact adds to (attribute name -> amount)."""
    return {f"{group}|{counter}": amount for group in fact.groups for counter, amount in fact.counts.items()}


def counters_of_item(item: dict[str, Any]) -> dict[str, Counters]:
    """A roll-up item's attributes as Counters per group."""
    groups: dict[str, Counters] = {}
    for name, value in item.items():
        group, separator, counter = name.rpartition("|")
        if not separator:
            continue
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
        counters = Update(add_fields=attributes_of(fact), must_exist=False)
        writes = [
            {"Put": {"Item": marker, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": counters.request(rollup_key(fact.day))},
        ]
        return not transact(self.table, writes)  # only the marker has a condition

    def read(self, days: Iterable[str]) -> dict[str, dict[str, Counters]]:
        """The roll-ups of these days (batched reads, 100 keys a call); days without one are absent."""
        wanted = list(dict.fromkeys(days))
        found: dict[str, dict[str, Counters]] = {}
        client = self.table.meta.client
        for start in range(0, len(wanted), 100):
            keys = [rollup_key(day) for day in wanted[start : start + 100]]
            request: dict[str, Any] = {self.table.name: {"Keys": keys}}
            with storage_errors():
                while request:
                    answer = client.batch_get_item(RequestItems=request)
                    for item in answer["Responses"].get(self.table.name, []):
                        self.items_read += 1
                        found[table_map.rollup_day(item)] = counters_of_item(item)
                    request = answer.get("UnprocessedKeys") or {}
        return found


@one_per_process
def get_rollup_store() -> RollupStore:
    """The roll-ups of this function's table, created once per execution environment."""
    return RollupStore(table(get_settings().table_name))


def claim_weekly_report(table: Any, week: str, now: datetime) -> bool:
    """True once per `week` (its first day): the weekly email is sent by whoever claims it."""
    item = {
        **table_map.weekly_report_key(week),
        "entity": "weekly_report",
        "claimed_at": now.isoformat(),
        "expires_at": int((now + timedelta(days=60)).timestamp()),
    }
    return put_if_absent(table, item)
