"""`MentionStore.list` (what `socialcare mentions list` shows) reads only the page it shows: newest first,
and no more of the index than `--limit` needs, however many mentions the table holds."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.data.mentions import MentionStore, table
from socialcare.models import Author, Mention, MentionKind, MentionStatus
from tests.integration.conftest import Aws

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 1, 9, tzinfo=UTC)


class CountingTable:
    """The table, counting the items its queries return."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.items_read = 0

    def query(self, **query: Any) -> dict[str, Any]:
        page: dict[str, Any] = self._inner.query(**query)
        self.items_read += len(page.get("Items", []))
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def stored(store: MentionStore, count: int, *, ours: bool = False, prefix: str = "") -> None:
    for number in range(count):
        moment = START + timedelta(minutes=number)
        store.put_if_new(
            Mention(
                platform="x",
                external_id=f"{prefix}{number}",
                kind=MentionKind.POST,
                author=Author(id="42", handle="cust"),
                text=f"mention {number}",
                created_at=moment,
                received_at=moment,
                thread_key=f"{prefix}{number}",
                is_ours=ours,
                status=MentionStatus.WAITING if number % 10 == 0 else MentionStatus.NEW,
            )
        )


@pytest.fixture
def counted(aws: Aws) -> tuple[MentionStore, CountingTable]:
    stored(aws.mention_store(), 40)
    stored(aws.mention_store(), 3, ours=True, prefix="ours")
    counting = CountingTable(table(aws.table_name))
    return MentionStore(counting), counting


def test_a_short_list_is_the_newest_and_reads_no_more_than_it_shows(
    counted: tuple[MentionStore, CountingTable],
) -> None:
    store, counting = counted
    listed = store.list(limit=5)
    assert [m.external_id for m in listed] == ["39", "38", "37", "36", "35"]
    assert counting.items_read == 5


def test_a_filtered_list_reads_on_until_it_has_its_matches_and_stops(
    counted: tuple[MentionStore, CountingTable],
) -> None:
    store, counting = counted
    listed = store.list(status=MentionStatus.WAITING, limit=2)
    assert [m.external_id for m in listed] == ["30", "20"]
    assert counting.items_read < 40, "it stopped once it had two matches"


def test_with_our_own_posts_both_feeds_merge_newest_first(
    counted: tuple[MentionStore, CountingTable],
) -> None:
    store, _counting = counted
    listed = store.list(include_ours=True, limit=4)
    assert [m.external_id for m in listed] == ["39", "38", "37", "36"]
    everything = store.list(include_ours=True, limit=100)
    assert len(everything) == 43
    assert [m.external_id for m in everything][-3:] == ["1", "ours0", "0"]
