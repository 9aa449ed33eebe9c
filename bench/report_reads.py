"""`report_items_read`: the items one year's report reads. A year of generated data (100,000 customer
mentions, nine in ten answered, a third of those surveyed and half of the surveys rated) is turned into
roll-ups by the measures' own fact and attribute functions, and read back the way `socialcare report --html`
reads them (the roll-ups, 100 keys a BatchGetItem, and the latest comments), then grouped every --by way from
those same items."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from socialcare.data.rollups import RollupStore, add_in_memory, item_key
from socialcare.data.surveys import SurveyStore
from socialcare.measures.figures import facts_of_record
from socialcare.measures.reports import GROUPINGS, Period, build_report

MENTIONS = 100_000
YEAR = Period(date(2025, 12, 1), date(2026, 11, 30))
TARGETS = {"urgent": timedelta(minutes=30), "normal": timedelta(minutes=60), "low": timedelta(minutes=240)}


def year_of_records(seed: int = 12) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(event name, old image, new image) of every stream record a year of mentions and surveys makes."""
    rng = random.Random(seed)
    start = datetime.combine(YEAR.since, datetime.min.time(), tzinfo=UTC)
    records: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for number in range(MENTIONS):
        received = start + timedelta(seconds=rng.randrange(365 * 86400))
        platform = rng.choice(["x", "facebook", "instagram", "reviews"])
        priority = rng.choice(["urgent", "normal", "normal", "low"])
        image = {
            "entity": "mention",
            "platform": platform,
            "external_id": str(number),
            "status": "new",
            "priority": priority,
            "received_at": received.isoformat(),
        }
        records.append(("INSERT", {}, image))
        if rng.random() > 0.9:
            continue
        agent = f"agent{rng.randrange(25)}@example.com"
        answered = {
            **image,
            "status": "answered",
            "answered_at": received.isoformat(),
            "answered_by": agent,
            "first_response_seconds": int(rng.lognormvariate(7.5, 1.4)),
        }
        records.append(("MODIFY", image, answered))
        if rng.random() < 0.33:
            survey = {
                "entity": "survey",
                "survey_id": f"s{number}",
                "platform": platform,
                "priority": priority,
            }
            survey |= {"agent": agent, "received_at": received.isoformat(), "state": "sent"}
            records.append(("INSERT", {}, survey))
            if rng.random() < 0.5:
                rated = {**survey, "rating": rng.choice([1, 2, 3, 4, 4, 5, 5, 5]), "rating_version": 1}
                records.append(("MODIFY", survey, rated))
    return records


class DayTable:
    """The table as the report sees it: BatchGetItem (100 keys a call) and Query answered from the day items.
    moto would do, but serializing 365 large items takes it many minutes on a busy machine."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.name = "bench-table"
        self._items = items
        self.meta = SimpleNamespace(client=self)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems[self.name]["Keys"]
        assert len(keys) <= 100, "BatchGetItem takes at most 100 keys"
        found = [self._items[key["pk"]] for key in keys if key["pk"] in self._items]
        return {"Responses": {self.name: found}, "UnprocessedKeys": {}}

    def query(self, **_: Any) -> dict[str, Any]:
        return {"Items": []}  # no survey comments in the generated year


def item_kb(attributes: dict[str, Any]) -> float:
    """An item's size as DynamoDB counts it: names' and strings' bytes, about one byte per two digits of a
    number."""
    size = 0
    for name, value in attributes.items():
        size += len(name.encode())
        size += len(value.encode()) if isinstance(value, str) else 1 + (len(str(abs(value))) + 1) // 2
    return round(size / 1024, 1)


def report_items_read() -> dict[str, Any]:
    items: dict[str, dict[str, Any]] = {}
    for event_name, old, new in year_of_records():
        for fact in facts_of_record(event_name, old, new, TARGETS):
            key = item_key(fact)
            add_in_memory(items.setdefault(key["pk"], {**key, "entity": "rollup"}), fact)
    shared_table = DayTable(items)
    store = RollupStore(shared_table)
    rollups = store.read(YEAR.days())
    comments = SurveyStore(shared_table).latest_comments(10)
    report = build_report(rollups, YEAR)
    groups = {by: len(build_report(rollups, YEAR, by)["groups"]) for by in GROUPINGS}
    sizes: dict[str, list[float]] = defaultdict(list)
    for item in items.values():
        sizes[str(item["sk"]).lower()].append(item_kb(item))
    return {
        "report_items_read": store.items_read + len(comments),
        "report_mentions": report["mentions"],
        "report_groups": groups,
        # What every mention received writes, and what every answer or rating writes (their busiest day).
        "report_received_item_kb_max": max(sizes["received"]),
        "report_answers_item_kb_max": max(sizes["rollup"]),
    }
