"""An assignment to more recipients than one DynamoDB transaction holds (100 actions; three per recipient):
40 leads are all told, each counted once, and a run that stopped halfway is finished by the next attempt
(moto refuses transactions over 100 actions, as DynamoDB does)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.data import dispatch as dispatch_data
from socialcare.data import table
from socialcare.data.dispatch import DispatchStore
from socialcare.data.table_map import notice_key
from socialcare.errors import StorageUnavailable
from socialcare.models import MentionStatus
from tests.integration.conftest import Aws
from tests.integration.dispatch_support import World, make_world, texts

WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
LEADS = 40
CHUNK = 10


@pytest.fixture
def world(aws: Aws) -> World:
    world = make_world(aws)
    for number in range(LEADS):
        # Leads off shift: nobody on shift covers the mention, so every lead is told.
        world.add_agent(f"Lead{number:02d}", f"+1415555{number:04d}", "Mon-Fri 06:00-07:00", lead=True,
                        at=WEDNESDAY_NOON)  # fmt: skip
    return world


def notice_item(world: World, mention_id: str) -> dict[str, Any]:
    return dict(
        table(world.aws.table_name).get_item(Key=notice_key(mention_id, 0), ConsistentRead=True)["Item"]
    )


def open_counts(world: World) -> dict[str, int]:
    return world.dispatcher.store.roster().open_counts


def test_forty_leads_are_all_assigned_told_and_counted_once(world: World) -> None:
    mention = world.mention("1", WEDNESDAY_NOON)
    outcome = world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert outcome.result == "assigned" and outcome.via == "leads" and len(outcome.recipients) == LEADS
    assert world.stored(mention.id).status is MentionStatus.ASSIGNED
    assert sorted(world.stored(mention.id).assigned_to) == sorted(outcome.recipients)
    assert open_counts(world) == dict.fromkeys(outcome.recipients, 1)
    assert all(list(world.dispatcher.store.open_ids(email)) == [mention.id] for email in outcome.recipients)
    assert len({phone for phone, _message in texts()}) == LEADS
    assert "unmarked" not in notice_item(world, mention.id)


def test_a_run_that_stopped_while_marking_is_finished_by_the_next_attempt(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch_data, "MARKS_PER_TRANSACTION", CHUNK)  # four chunks of ten
    store = world.dispatcher.store
    mark = store._mark

    def first_chunk_then_fail(mention_id: str, level: int, emails: Any, now: datetime) -> None:
        mark(mention_id, level, list(emails)[:CHUNK], now)
        raise StorageUnavailable("the run died after its first chunk")

    monkeypatch.setattr(store, "_mark", first_chunk_then_fail)
    mention = world.mention("1", WEDNESDAY_NOON)
    with pytest.raises(StorageUnavailable):
        world.dispatcher.dispatch(mention.id, WEDNESDAY_NOON)
    assert world.stored(mention.id).status is MentionStatus.ASSIGNED  # claimed: no other run assigns it
    leads = world.stored(mention.id).assigned_to
    assert len(notice_item(world, mention.id)["unmarked"]) == LEADS - CHUNK
    assert texts() == []

    monkeypatch.setattr(store, "_mark", mark)
    later = WEDNESDAY_NOON + timedelta(minutes=5)  # the first run's claim on the notice has lapsed
    assert world.dispatcher.dispatch(mention.id, later).result == "already_assigned"
    assert open_counts(world) == dict.fromkeys(leads, 1)
    assert "unmarked" not in notice_item(world, mention.id)
    assert len({phone for phone, _message in texts()}) == LEADS

    # Marking again (a chunk written twice) counts nobody twice.
    DispatchStore._mark(store, mention.id, 0, leads, later)
    assert open_counts(world) == dict.fromkeys(leads, 1)
