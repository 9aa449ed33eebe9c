"""moto's transactions, patched to back up and restore only the items they touch (moto_transactions): all
or nothing as before, the same cancellation reasons, and the same table objects afterwards."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

from infra.local import moto_indexes, moto_transactions

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
Client = Any


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    moto_transactions.install()
    with seeded_table() as client:
        yield client


@contextlib.contextmanager
def seeded_table() -> Iterator[Client]:
    """A new moto holding table t (streamed, with index g) and three items: kept, deleted, updated."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gpk")
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byg",
                    "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        for name in ("kept", "deleted", "updated"):
            client.put_item(TableName="t", Item=item(name, state="before", gpk="p"))
        yield client


def item(pk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}, **{name: {"S": value} for name, value in attributes.items()}}


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}}


def writes_then_failing_check(return_old: bool = False) -> list[dict[str, Any]]:
    """A put creating an item, a delete, an update, and a last condition that fails: nothing may change."""
    check: dict[str, Any] = {
        "TableName": "t",
        "Key": key("kept"),
        "ConditionExpression": "#s = :other",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":other": {"S": "other"}},
    }
    if return_old:
        check["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return [
        {"Put": {"TableName": "t", "Item": item("created", state="new", gpk="p")}},
        {"Delete": {"TableName": "t", "Key": key("deleted")}},
        {
            "Update": {
                "TableName": "t",
                "Key": key("updated"),
                "UpdateExpression": "SET #s = :after, gpk = :q",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":after": {"S": "after"}, ":q": {"S": "q"}},
            }
        },
        {"ConditionCheck": check},
    ]


def everything(client: Client) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName="t")["Items"], key=lambda found: found["pk"]["S"])


def in_partition(client: Client, gpk: str) -> list[str]:
    answer = client.query(
        TableName="t",
        IndexName="byg",
        KeyConditionExpression="gpk = :p",
        ExpressionAttributeValues={":p": {"S": gpk}},
    )
    return sorted(found["pk"]["S"] for found in answer["Items"])


def test_a_cancelled_transaction_leaves_every_item_as_it_was_in_the_same_table(dynamodb: Client) -> None:
    moto_table = dynamodb_backends[ACCOUNT][REGION].get_table("t")
    before = everything(dynamodb)
    # Streams' account-based endpoints are not ones moto in-process recognises.
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled")
    )
    arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    reader = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=writes_then_failing_check(return_old=True))

    reasons = cancelled.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"] == item("kept", state="before", gpk="p")
    assert everything(dynamodb) == before  # created is absent, deleted present, updated unchanged
    assert dynamodb.get_item(TableName="t", Key=key("created")).get("Item") is None
    assert dynamodb.get_item(TableName="t", Key=key("deleted"))["Item"] == item(
        "deleted", state="before", gpk="p"
    )
    assert in_partition(dynamodb, "p") == ["deleted", "kept", "updated"] and in_partition(dynamodb, "q") == []
    assert dynamodb_backends[ACCOUNT][REGION].get_table("t") is moto_table

    dynamodb.put_item(TableName="t", Item=item("later", state="new"))
    records = streams.get_records(ShardIterator=reader["ShardIterator"])["Records"]
    # The reader opened before the transaction sees the later write, and nothing of the cancelled one.
    assert [(record["eventName"], record["dynamodb"]["Keys"]["pk"]["S"]) for record in records] == [
        ("INSERT", "later")
    ]


def test_a_transaction_that_goes_through_writes_everything(dynamodb: Client) -> None:
    transaction = writes_then_failing_check()[:3]
    dynamodb.transact_write_items(TransactItems=transaction)
    assert [found["pk"]["S"] for found in everything(dynamodb)] == ["created", "kept", "updated"]
    assert in_partition(dynamodb, "p") == ["created", "kept"] and in_partition(dynamodb, "q") == ["updated"]


def outcomes(client: Client) -> list[object]:
    """What each kind of transaction answers, and what the table holds afterwards."""
    attempts: list[list[dict[str, Any]]] = [
        writes_then_failing_check(return_old=True),
        [*writes_then_failing_check()[:1], {"Delete": {"TableName": "t", "Key": key("created")}}],  # twice
        [{"Put": {"TableName": "t", "Item": {"pk": {"S": "no range key"}}}}],
        [{"Put": {"TableName": "t", "Item": item("bad")}, "Delete": {"TableName": "t", "Key": key("kept")}}],
        [{"Update": {"TableName": "t", "Key": key("new"), "UpdateExpression": "SET a = :missing"}}],
        writes_then_failing_check()[:3],
    ]
    answers: list[object] = []
    for transaction in attempts:
        try:
            client.transact_write_items(TransactItems=transaction)
            answers.append("ok")
        except ClientError as error:
            answers.append((error.response["Error"], error.response.get("CancellationReasons")))
        answers.append(everything(client))
    return answers


def test_answers_and_outcomes_are_moto_s_own(dynamodb: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    patched = outcomes(dynamodb)
    dynamodb.delete_table(TableName="t")
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_transactions.MOTO_TRANSACT_WRITE_ITEMS)
    with seeded_table() as client:
        assert outcomes(client) == patched


def test_a_moto_whose_transactions_changed_stops_the_patch() -> None:
    moto_transactions.ensure_replaceable(moto_transactions.MOTO_TRANSACT_WRITE_ITEMS)
    changed: Callable[..., None] = moto_indexes.install
    with pytest.raises(RuntimeError, match=r"moto \S+: DynamoDBBackend.transact_write_items is not the one"):
        moto_transactions.ensure_replaceable(changed)
