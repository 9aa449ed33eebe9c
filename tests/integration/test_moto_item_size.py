"""moto's items, patched to measure their size once per write (moto_item_size): the same items, the same
400 KB verdict as moto's own code, and a pin that refuses a moto whose code changed."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from infra.local import moto_item_size

pytestmark = pytest.mark.integration

MANY = {f"attribute{number}": {"S": f"value {number}"} for number in range(40)}
NESTED = {"author": {"M": {"handle": {"S": "@ana"}, "tags": {"L": [{"S": "a"}, {"N": "1"}]}}}}


def built(init: Any, attrs: dict[str, Any]) -> Item:
    item = Item.__new__(Item)
    init(item, DynamoType({"S": "p"}), DynamoType({"S": "s"}), attrs)
    return item


@pytest.mark.parametrize(
    "attrs",
    [MANY, NESTED, {"big": {"S": "x" * 404_000}}, {"big": {"S": "x" * 406_000}}, {}],
    ids=["many", "nested", "just under the limit", "over the limit", "empty"],
)
def test_the_same_item_or_the_same_refusal_as_motos_own(attrs: dict[str, Any]) -> None:
    try:
        expected: Item | None = built(moto_item_size.MOTO_ITEM_INIT, attrs)
    except ItemSizeTooLarge:
        expected = None
    if expected is None:
        with pytest.raises(ItemSizeTooLarge):
            built(moto_item_size.item_init, attrs)
        return
    item = built(moto_item_size.item_init, attrs)
    assert item == expected
    assert type(item.attrs) is type(expected.attrs)
    assert item.to_json() == expected.to_json()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    moto_item_size.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_a_put_through_the_patched_moto_stores_the_item_and_refuses_one_too_large(dynamodb: Any) -> None:
    assert Item.__init__ is moto_item_size.item_init
    item = {"pk": {"S": "one"}, **MANY, **NESTED}
    dynamodb.put_item(TableName="t", Item=item, ConditionExpression="attribute_not_exists(pk)")
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "one"}})["Item"] == item
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "two"}, "big": {"S": "x" * 410_000}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "two"}})


def test_a_moto_whose_item_code_changed_is_refused_by_name() -> None:
    def changed(self: Item, hash_key: Any, range_key: Any, attrs: Any) -> None:
        pass

    with pytest.raises(RuntimeError, match=r"Item\.__init__ is not the one"):
        moto_item_size.ensure_replaceable(changed)
    moto_item_size.ensure_replaceable(moto_item_size.MOTO_ITEM_INIT)  # the pinned one passes
