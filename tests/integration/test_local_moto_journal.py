"""The local stack's journal: which requests are kept and replayed, and moto answering only local names."""

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import moto as moto_package
import pytest
import requests

from infra.local.local_hosts import is_local_host, is_local_origin
from infra.local.moto_server import SerializedMotoServer
from infra.local.state import action_of, changes_state, replay_plan
from infra.local.system import free_port

pytestmark = pytest.mark.integration


def sqs_entry(
    action: str, request: dict[str, object], answer: dict[str, object] | None = None
) -> dict[str, object]:
    entry: dict[str, object] = {
        "method": "POST",
        "target": "/",
        "headers": {"x-amz-target": f"AmazonSQS.{action}"},
        "body": base64.b64encode(json.dumps(request).encode()).decode(),
        "action": action,
    }
    if answer is not None:
        entry["answer"] = json.dumps(answer)
    return entry


def test_actions_are_read_from_either_protocol() -> None:
    assert action_of({"x-amz-target": "DynamoDB_20120810.PutItem"}, b"{}") == "PutItem"
    assert action_of({}, b"Action=Publish&PhoneNumber=%2B1") == "Publish"
    assert changes_state("PutItem") and changes_state("TransactWriteItems") and changes_state("Subscribe")
    assert not any(map(changes_state, ["GetItem", "Query", "Scan", "DescribeTable", "ReceiveMessage", ""]))


def test_a_handled_queue_message_is_not_sent_again_and_a_pending_one_is() -> None:
    journal = [
        sqs_entry("SendMessage", {"MessageBody": "done"}, {"MessageId": "m1"}),
        sqs_entry("SendMessage", {"MessageBody": "pending"}, {"MessageId": "m2"}),
        sqs_entry(
            "SendMessageBatch",
            {"Entries": [{"Id": "a", "MessageBody": "done too"}, {"Id": "b", "MessageBody": "pending too"}]},
            {"Successful": [{"Id": "a", "MessageId": "m3"}, {"Id": "b", "MessageId": "m4"}]},
        ),
        {"action": "Receipts", "receipts": {"h1": "m1", "h2": "m2", "h3": "m3"}},
        sqs_entry("DeleteMessage", {"ReceiptHandle": "h1"}),
        sqs_entry("DeleteMessageBatch", {"Entries": [{"Id": "0", "ReceiptHandle": "h3"}]}),
        {"method": "POST", "target": "/", "headers": {}, "body": "", "action": "Publish"},
    ]
    plan, handled = replay_plan(journal)
    assert handled == 2
    bodies = [json.loads(base64.b64decode(str(entry["body"]))) for entry in plan]
    assert bodies == [
        {"MessageBody": "pending"},
        {"Entries": [{"Id": "b", "MessageBody": "pending too"}]},
    ]


def test_names_of_this_machine() -> None:
    assert all(map(is_local_host, ["127.0.0.1:5000", "localhost", "LOCALHOST:1", "[::1]:5000"]))
    assert not any(
        map(is_local_host, ["evil.example", "127.0.0.1.evil.example:5000", "localhost.evil:80", ""])
    )
    assert is_local_origin(None) and is_local_origin("http://localhost:3000")
    assert not is_local_origin("https://evil.example") and not is_local_origin("null")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = SerializedMotoServer(
        ip_address="127.0.0.1", port=free_port(), verbose=False, state_dir=tmp_path_factory.mktemp("state")
    )
    server.start()
    yield f"http://127.0.0.1:{server._port}"
    server.stop()


def test_moto_answers_local_names_only(moto: str) -> None:
    target = {"x-amz-target": "DynamoDB_20120810.ListTables", "content-type": "application/x-amz-json-1.0"}
    auth = {"authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request"}
    local = requests.post(moto, data=b"{}", headers={**target, **auth}, timeout=5)
    assert local.status_code == 200 and "TableNames" in local.json()
    rebound = requests.post(
        moto, data=b"{}", headers={**target, **auth, "host": "rebind.evil.example"}, timeout=5
    )
    assert rebound.status_code == 403
    cross_site = requests.post(
        moto, data=b"{}", headers={**target, **auth, "origin": "https://evil.example"}, timeout=5
    )
    assert cross_site.status_code == 403 and "access-control-allow-origin" not in cross_site.headers


def test_moto_finds_each_requests_backend_without_listing_its_folder_again(
    moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's server listed its package folder on every request, inside the lock every caller waits on."""
    folder = os.path.dirname(moto_package.__file__)
    listed: list[str] = []
    listdir = os.listdir

    def counting_listdir(path: str = ".") -> list[str]:
        listed.append(os.fspath(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    target = {"x-amz-target": "DynamoDB_20120810.ListTables", "content-type": "application/x-amz-json-1.0"}
    auth = {"authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request"}
    for _ in range(3):
        answer = requests.post(moto, data=b"{}", headers={**target, **auth}, timeout=5)
        assert answer.status_code == 200 and "TableNames" in answer.json()
    assert folder not in listed


def test_each_write_is_reported_with_its_service_and_reads_are_not() -> None:
    """The idle pollers wake on the writes of the service they read (event_sources.Changes): a stream poller
    on DynamoDB's writes, a queue poller on SQS's, never on a read or a receive."""
    import boto3

    reported: list[str] = []
    server = SerializedMotoServer(
        ip_address="127.0.0.1", port=free_port(), verbose=False, after_change=reported.append
    )
    server.start()
    try:
        local = {
            "endpoint_url": f"http://127.0.0.1:{server._port}",
            "region_name": "us-east-1",
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
        dynamodb, sqs = boto3.client("dynamodb", **local), boto3.client("sqs", **local)
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        assert reported == ["dynamodb", "sqs"]
        reported.clear()

        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})
        sqs.receive_message(QueueUrl=url)  # nothing new for any poller
        sqs.send_message(QueueUrl=url, MessageBody="m")
        assert reported == ["dynamodb", "sqs"]
    finally:
        server.stop()


def test_a_kept_change_is_replayed_into_a_new_moto(tmp_path: Path) -> None:
    import boto3

    port = free_port()
    first = SerializedMotoServer(ip_address="127.0.0.1", port=port, verbose=False, state_dir=tmp_path)
    first.start()
    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    url = sqs.create_queue(QueueName="kept")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="handled")
    (received,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="pending")
    first.stop()
    from moto.sqs.models import sqs_backends

    sqs_backends.reset()  # what a new process starts with
    again = SerializedMotoServer(ip_address="127.0.0.1", port=port, verbose=False, state_dir=tmp_path)
    again.start()
    try:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in messages] == ["pending"]
        assert again.replayed["handled_messages"] == 1
    finally:
        again.stop()


def test_no_acknowledged_write_is_lost_to_a_cancelled_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers a cancelled transaction by putting back a copy of the table taken before it: a put that
    landed meanwhile vanished with the discarded table, after its 200 (the one delivery of 1,800 that
    `make bench` lost). One request at a time, as DynamoDB makes each call atomic, loses none."""
    import contextlib
    import copy
    import threading
    import time
    import types

    import boto3
    import moto.dynamodb.models
    from botocore.exceptions import ClientError

    def slow_copy(value: object, *rest: object) -> object:
        copied = copy.deepcopy(value, *rest)  # type: ignore[arg-type]
        time.sleep(0.02)  # a big table takes this long to copy on a busy machine: a window for a put
        return copied

    # Only the DynamoDB backend's copies (the table before a transaction) are slowed.
    monkeypatch.setattr(moto.dynamodb.models, "copy", types.SimpleNamespace(deepcopy=slow_copy))
    server = SerializedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{server._port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
        dynamodb.create_table(
            TableName="t",
            KeySchema=keys,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        acknowledged: list[str] = []
        done = threading.Event()

        def put(first: int) -> None:
            for index in range(first, 400, 4):
                dynamodb.put_item(TableName="t", Item={"pk": {"S": f"new-{index}"}})
                acknowledged.append(f"new-{index}")

        def cancel() -> None:
            check = {
                "TableName": "t",
                "Key": {"pk": {"S": "absent"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
            while not done.is_set():
                with contextlib.suppress(ClientError):
                    dynamodb.transact_write_items(TransactItems=[{"ConditionCheck": check}])

        canceller = threading.Thread(target=cancel)
        canceller.start()
        writers = [threading.Thread(target=put, args=(first,)) for first in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        done.set()
        canceller.join()
        stored = {
            item["pk"]["S"]
            for page in dynamodb.get_paginator("scan").paginate(TableName="t")
            for item in page["Items"]
        }
        assert len(acknowledged) == 400
        assert set(acknowledged) <= stored
    finally:
        server.stop()


def test_used_shard_iterators_are_not_kept(moto: str) -> None:
    import boto3
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from infra.local.stack import ACCOUNT_ID, REGION

    settings = {
        "endpoint_url": moto,
        "region_name": REGION,
        "aws_access_key_id": "l",
        "aws_secret_access_key": "l",
    }
    dynamodb = boto3.client("dynamodb", **settings)  # type: ignore[call-overload]
    streams = boto3.client("dynamodbstreams", **settings)  # type: ignore[call-overload]
    description = dynamodb.create_table(
        TableName="streamed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    dynamodb.put_item(TableName="streamed", Item={"pk": {"S": "a"}})
    arn = description["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterators = dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators
    before = len(iterators)
    for _ in range(5):
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        assert len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]) == 1
    assert len(iterators) == before


def test_index_queries_read_their_partition_and_answer_as_moto_does(moto: str) -> None:
    import boto3
    from boto3.dynamodb.conditions import Key
    from botocore.exceptions import ClientError

    resource = boto3.resource(
        "dynamodb",
        endpoint_url=moto,
        region_name="us-east-1",
        aws_access_key_id="l",
        aws_secret_access_key="l",
    )
    attributes = [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gpk", "gsk")]
    table = resource.create_table(
        TableName="indexed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for index in range(30):
        table.put_item(Item={"pk": f"m{index}", "sk": "x", "gpk": f"p{index % 3}", "gsk": f"{index:03}"})
    table.update_item(
        Key={"pk": "m0", "sk": "x"}, UpdateExpression="SET gpk = :p", ExpressionAttributeValues={":p": "p1"}
    )
    table.update_item(Key={"pk": "m1", "sk": "x"}, UpdateExpression="REMOVE gpk")
    table.delete_item(Key={"pk": "m2", "sk": "x"})
    table.put_item(Item={"pk": "m3", "sk": "x", "gpk": "p2", "gsk": "003"})  # replaced: moves to p2
    client = resource.meta.client
    with pytest.raises(ClientError, match="TransactionCanceled"):  # moto puts back its copy of the table
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "indexed",
                        "Item": {"pk": "m99", "sk": "x", "gpk": "p0", "gsk": "999"},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "indexed",
                        "Key": {"pk": "none", "sk": "x"},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    table.put_item(Item={"pk": "m98", "sk": "x", "gpk": "p0", "gsk": "998"})  # after the copy came back

    def partition(name: str) -> list[str]:
        pages = client.get_paginator("query").paginate(
            TableName="indexed",
            IndexName="gsi",
            KeyConditionExpression="gpk = :p",
            ExpressionAttributeValues={":p": name},
            ScanIndexForward=False,
            PaginationConfig={"PageSize": 4},
        )
        return [item["pk"] for page in pages for item in page["Items"]]

    everything = table.scan()["Items"]
    for name in ("p0", "p1", "p2", "p9"):
        expected = sorted(
            (i for i in everything if i.get("gpk") == name), key=lambda i: i["gsk"], reverse=True
        )
        assert partition(name) == [i["pk"] for i in expected]
    assert "m98" in partition("p0") and "m99" not in partition("p0") and "m0" in partition("p1")
    assert (
        table.query(IndexName="gsi", KeyConditionExpression=Key("gpk").eq("p1") & Key("gsk").gt("020"))[
            "Count"
        ]
        == 3
    )
    # Each query walked its partition, not the table: the map it read holds exactly the partition's items.
    from moto.dynamodb.models import dynamodb_backends

    moto_table = dynamodb_backends["123456789012"]["us-east-1"].get_table("indexed")
    walked = {
        name[len("S:") :].strip("'"): len(items)
        for name, items in moto_table._local_partitions["gsi"].items()
    }
    assert walked == {name: len(partition(name)) for name in ("p0", "p1", "p2")}


def test_moto_is_granted_in_the_order_it_was_asked_for() -> None:
    import threading

    from infra.local.moto_server import FairLock

    lock, order, queued = FairLock(), [], threading.Semaphore(0)

    def ask(name: str) -> None:
        queued.release()
        with lock:
            order.append(name)

    with lock:  # held: everyone queues behind it, one at a time so the order of asking is known
        threads = []
        for name in "abcdef":
            thread = threading.Thread(target=ask, args=(name,))
            thread.start()
            queued.acquire()
            while len(lock._waiting) < len(threads) + 1:  # its turn is registered
                threading.Event().wait(0.001)
            threads.append(thread)
    for thread in threads:
        thread.join()
    assert order == list("abcdef")
