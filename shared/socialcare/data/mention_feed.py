"""The mention feed as stored: the newest mentions' items, newest first, from the feed indexes (the
customers', and with `include_ours` the brand's own), filtered on their stored platform and status, each
index read page by page only until it gave `limit` matches, so a short list costs a page however many
mentions the table holds.

MentionStore.list makes Mentions of them. The command line prints them as they are: `mentions list` never
imports the models, and pydantic's import was a quarter of its time."""

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from socialcare.data import table_map
from socialcare.data.dynamo import Table, query_items

QUERY_PAGE_MAX = 1000  # the largest page asked for: a query page is at most 1 MB anyway


def newest_items(
    table: Table,
    *,
    include_ours: bool = False,
    platform: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """At most `limit` mentions' items, newest first (received at, then id)."""
    index_keys = [table_map.MENTIONS_LIST, table_map.OURS_LIST] if include_ours else [table_map.MENTIONS_LIST]
    items: list[dict[str, Any]] = []
    for index_key in index_keys:
        matches = (
            item
            for item in feed_items(table, index_key, since, page_size=limit)
            if (not platform or item.get("platform") == platform)
            and (not status or item.get("status") == status)
        )
        items += islice(matches, limit)
    items.sort(
        key=lambda item: (datetime.fromisoformat(item["received_at"]), item[table_map.PK]), reverse=True
    )
    return items[:limit]


def feed_items(
    table: Table, index_key: str, since: datetime | None, page_size: int | None = None
) -> Iterator[dict[str, Any]]:
    """One feed index's items received at or after `since`, newest first, read lazily."""
    # The feed's sort key starts with the ISO time pydantic writes: compare on a UTC, second-precision prefix.
    start = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if since is not None else None
    size = min(page_size, QUERY_PAGE_MAX) if page_size is not None else None
    query = table_map.LISTS.query(index_key, sort_from=start, newest_first=True, page_size=size)
    yield from query_items(table, query)


def mention_id_of_item(item: dict[str, Any]) -> str:
    return table_map.mention_id_of_key(item[table_map.PK])
