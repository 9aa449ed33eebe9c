"""The data layer's shared parts (socialcare.data.dynamo): numbers as DynamoDB returns them, updates built
from fields, queries paged, transactions under one conflict policy; and the status changes a mention may
make."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from socialcare.data import dynamo
from socialcare.data.dynamo import Update, plain, query_items, transact
from socialcare.data.mentions import MentionStore
from socialcare.errors import StorageUnavailable
from socialcare.models import MENTION_TRANSITIONS, MentionStatus


def test_plain_keeps_fractions_and_makes_whole_numbers_ints() -> None:
    item = {"rating": Decimal("4.5"), "count": Decimal("3"), "nested": [{"share": Decimal("0.25")}]}
    assert plain(item) == {"rating": 4.5, "count": 3, "nested": [{"share": 0.25}]}
    assert isinstance(plain(Decimal("3.0")), int)


def test_update_names_every_field_and_conditions_on_what_was_read() -> None:
    change = Update(
        {"status": MentionStatus.OPENED, "opened_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
        ("waiting_reason",),
        add_fields={"attempts": 1},
        expected={"status": "assigned", "answered_at": None},
    )
    request = change.request({"pk": "MENTION#x-1", "sk": "MENTION"})
    assert request["UpdateExpression"] == "SET #s0 = :s0, #s1 = :s1 REMOVE #r0 ADD #a0 :a0"
    assert request["ConditionExpression"] == (
        "attribute_exists(pk) AND #e0 = :e0 AND attribute_not_exists(#e1)"
    )
    assert request["ExpressionAttributeNames"] == {
        "#s0": "status",
        "#s1": "opened_at",
        "#r0": "waiting_reason",
        "#a0": "attempts",
        "#e0": "status",
        "#e1": "answered_at",
    }
    assert request["ExpressionAttributeValues"] == {
        ":s0": "opened",
        ":s1": "2026-01-02T03:04:05Z",
        ":a0": 1,
        ":e0": "assigned",
    }


def test_an_update_with_nothing_to_change_is_refused() -> None:
    with pytest.raises(ValueError):
        Update(expected={"status": "new"}).request({"pk": "p", "sk": "s"})


class _Pages:
    """A table whose query answers three pages of two items, counting the pages read."""

    def __init__(self) -> None:
        self.reads = 0

    def query(self, **request: Any) -> dict[str, Any]:
        self.reads += 1
        page = int(request.get("ExclusiveStartKey", {}).get("page", 0))
        answer: dict[str, Any] = {"Items": [{"n": 2 * page}, {"n": 2 * page + 1}]}
        if page < 2:
            answer["LastEvaluatedKey"] = {"page": page + 1}
        return answer


def test_query_items_reads_every_page_and_no_more_than_the_limit_needs() -> None:
    table = _Pages()
    assert [item["n"] for item in query_items(table, {})] == [0, 1, 2, 3, 4, 5]
    assert table.reads == 3
    table = _Pages()
    assert [item["n"] for item in query_items(table, {}, limit=3)] == [0, 1, 2]
    assert table.reads == 2


def _cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


class _Transactions:
    """A table whose transactions answer the given errors in turn, then succeed."""

    name = "table"

    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls: list[list[dict[str, Any]]] = []
        self.meta = self
        self.client = self

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        self.calls.append(TransactItems)
        if self.errors:
            raise self.errors.pop(0)


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(dynamo.time, "sleep", slept.append)
    return slept


def test_a_conflicting_transaction_is_tried_again_after_a_jittered_pause(pauses: list[float]) -> None:
    table = _Transactions(
        _cancelled("None", "TransactionConflict"), _cancelled("TransactionConflict", "None")
    )
    assert transact(table, [{"Put": {"Item": {"pk": "a"}}}, {"Put": {"Item": {"pk": "b"}}}]) == set()
    assert len(table.calls) == 3
    assert table.calls[0][0] == {"Put": {"TableName": "table", "Item": {"pk": "a"}}}
    assert len(pauses) == 2
    assert (
        0 <= pauses[0] <= dynamo.TRANSACTION_BACKOFF_S and 0 <= pauses[1] <= 2 * dynamo.TRANSACTION_BACKOFF_S
    )


def test_conflicts_are_retried_a_bounded_number_of_times(pauses: list[float]) -> None:
    table = _Transactions(*[_cancelled("TransactionConflict")] * (dynamo.TRANSACTION_TRIES + 1))
    with pytest.raises(StorageUnavailable):
        transact(table, [{"Put": {"Item": {"pk": "a"}}}])
    assert len(table.calls) == dynamo.TRANSACTION_TRIES
    assert len(pauses) == dynamo.TRANSACTION_TRIES - 1


def test_a_failed_condition_is_an_answer_not_retried(pauses: list[float]) -> None:
    table = _Transactions(_cancelled("None", "ConditionalCheckFailed", "TransactionConflict"))
    assert transact(table, [{"Put": {}}, {"Put": {}}, {"Put": {}}]) == {1}
    assert len(table.calls) == 1 and not pauses


def test_other_cancellations_are_storage_errors(pauses: list[float]) -> None:
    with pytest.raises(StorageUnavailable):
        transact(_Transactions(_cancelled("ThrottlingError")), [{"Put": {}}])
    assert not pauses


def test_a_transaction_over_dynamodbs_limit_is_refused_before_sending() -> None:
    table = _Transactions()
    with pytest.raises(ValueError):
        transact(table, [{"Put": {}}] * (dynamo.MAX_TRANSACTION_ACTIONS + 1))
    assert not table.calls


def test_mentions_never_go_back_to_new_and_answered_never_comes_from_ours() -> None:
    assert MentionStatus.NEW not in MENTION_TRANSITIONS
    assert MentionStatus.OURS not in MENTION_TRANSITIONS[MentionStatus.ANSWERED]
    assert MENTION_TRANSITIONS[MentionStatus.ASSIGNED] == {MentionStatus.NEW, MentionStatus.WAITING}


class _Updates:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def update_item(self, **request: Any) -> None:
        self.requests.append(request)


def test_a_status_change_is_conditional_on_a_status_it_may_come_from() -> None:
    table = _Updates()
    assert MentionStore(table).transition("x-1", set_fields={"status": MentionStatus.ASSIGNED})
    request = table.requests[0]
    assert "#status IN (" in request["ConditionExpression"]
    sources = {
        value for name, value in request["ExpressionAttributeValues"].items() if name.startswith(":from")
    }
    assert sources == {"new", "waiting"}


def test_a_status_change_the_map_does_not_allow_is_a_bug_and_writes_nothing() -> None:
    table = _Updates()
    with pytest.raises(ValueError):
        MentionStore(table).transition(
            "x-1", set_fields={"status": MentionStatus.ASSIGNED}, expected={"status": MentionStatus.ANSWERED}
        )
    assert not table.requests


def test_escalation_scheduling_names_no_index_attribute_in_the_caller() -> None:
    table = _Updates()
    due = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    MentionStore(table).schedule_escalation("x-1", due, expected={"status": MentionStatus.ASSIGNED})
    MentionStore(table).stop_escalation("x-1", expected={"status": MentionStatus.ANSWERED})
    scheduled, stopped = table.requests
    assert {"gsi2pk", "gsi2sk"} <= set(scheduled["ExpressionAttributeNames"].values())
    assert "2026-01-02T03:04:05Z" in scheduled["ExpressionAttributeValues"].values()
    assert stopped["UpdateExpression"].startswith("REMOVE ")
    assert {"gsi2pk", "gsi2sk"} <= set(stopped["ExpressionAttributeNames"].values())


def _mention(text: str, raw: dict[str, Any]) -> Any:
    from socialcare.models import Author, Mention, MentionKind

    return Mention(
        platform="x",
        external_id="1",
        kind=MentionKind.POST,
        author=Author(id="2", handle="ann"),
        text=text,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        thread_key="1",
        conversation_id="x:1",
        raw=raw,
    )


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("hello", {"id_str": "1"}),
        ("x" * 349_000, {}),  # just over once stored
        ("x" * 340_000, {}),  # just under
        ("", {"text": '"\\\n\x01' * 15_000}),  # raw whose escaping grows the most, measured exactly
        ("", {"text": '"\\\x01' * 40_000}),  # the same, over the limit once stored
    ],
)
def test_whether_a_mention_fits_agrees_with_its_stored_size(text: str, raw: dict[str, Any]) -> None:
    from socialcare.data.mentions import MAX_ITEM_BYTES, fits_in_an_item, item_bytes

    mention = _mention(text, raw)
    assert fits_in_an_item(mention) == (item_bytes(mention) <= MAX_ITEM_BYTES)


def test_the_quick_bound_is_never_below_the_stored_size() -> None:
    from socialcare.data.mentions import MAX_ID_BYTES, item_bytes

    for raw in ({"a": '"\\\x01\n' * 5_000}, {"b": ["ü" * 1_000, {"c": '"' * 3_000}]}, {}):
        mention = _mention('"\\\x02é' * 2_000, raw)
        assert item_bytes(mention) <= 6 * len(mention.model_dump_json()) + 16 * MAX_ID_BYTES
