"""Global secondary indexes for the local stack's moto, so a query costs the size of its partition and not the
size of the table.

moto answers every index query by walking every item of the table: as the local table grows (four or more
items a mention), each dispatch's index queries get slower while holding the lock that makes moto answer one
request at a time, and every webhook waits behind them. DynamoDB reads only the partition. Here each table
keeps, per index, its items by index hash key, updated where moto writes an item (put, update, delete: the
paths transactions and batches take too), and where a cancelled transaction puts an item back
(`moto_transactions`). The query itself is moto's: it only walks the partition instead of the table."""

from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

Key = tuple[str, str]
_installed: list[bool] = []


def _raw(value: Any) -> str:
    return f"{value.type}:{value.value!r}"


def _key(item: Any) -> Key:
    range_key = item.range_key
    return _raw(item.hash_key), _raw(range_key) if range_key is not None else ""


def _hash_attributes(table: Table) -> dict[str, str]:
    """index name -> the attribute of its hash key, for the table's global secondary indexes."""
    names: dict[str, str] = {}
    for index in table.global_indexes:
        hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
        if len(hashes) == 1:
            names[index.name] = hashes[0]
    return names


def _state(table: Table) -> tuple[dict[str, dict[str, dict[Key, Any]]], dict[Key, dict[str, str]]]:
    if not hasattr(table, "_local_partitions"):
        table._local_partitions = {name: {} for name in _hash_attributes(table)}  # type: ignore[attr-defined]
        table._local_where = {}  # type: ignore[attr-defined]
        for item in table.all_items():
            _index(table, item)
    return table._local_partitions, table._local_where  # type: ignore[attr-defined]


def _unindex(table: Table, key: Key) -> None:
    partitions, where = _state(table)
    for index_name, hash_value in where.pop(key, {}).items():
        partition = partitions[index_name].get(hash_value)
        if partition is not None:
            partition.pop(key, None)
            if not partition:
                del partitions[index_name][hash_value]


def _index(table: Table, item: Any) -> None:
    partitions, where = _state(table)
    key = _key(item)
    _unindex(table, key)
    placed: dict[str, str] = {}
    for index_name, attribute in _hash_attributes(table).items():
        value = item.attrs.get(attribute)
        if value is not None:
            hash_value = _raw(value)
            partitions[index_name].setdefault(hash_value, {})[key] = item
            placed[index_name] = hash_value
    if placed:
        where[key] = placed


def restored(table: Table, hash_key: Any, range_key: Any, item: Any) -> None:
    """An item put back as it was (None: removed again) by a cancelled transaction."""
    if not hasattr(table, "_local_partitions"):
        return  # no map yet: it is built from the table's items when first needed
    if item is None:
        _unindex(table, (_raw(hash_key), _raw(range_key) if range_key is not None else ""))
    else:
        _index(table, item)


def _after_put(put: Callable[..., Any]) -> Callable[..., Any]:
    def put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        item = put(self, *args, **kwargs)
        _index(self, item)
        return item

    return put_item


def _after_delete(delete: Callable[..., Any]) -> Callable[..., Any]:
    def delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        item = delete(self, *args, **kwargs)
        if item is not None:
            _unindex(self, _key(item))
        return item

    return delete_item


def _after_update(update: Callable[..., Any]) -> Callable[..., Any]:
    def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = update(self, table_name, *args, **kwargs)
        if item is not None:
            _index(self.get_table(table_name), item)  # changed in place: its index keys may have moved
        return item

    return update_item


def _by_partition(query: Callable[..., Any]) -> Callable[..., Any]:
    def partition_query(self: Table, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)  # moto passes it 8th
        conditions = kwargs.get("hash_key_conditions") or []
        attribute = _hash_attributes(self).get(index_name or "")
        if attribute is None or len(conditions) != 1 or conditions[0][0] != attribute:
            return query(self, *args, **kwargs)
        partitions, _ = _state(self)
        subset = list(partitions[str(index_name)].get(_raw(conditions[0][1]), {}).values())
        self.all_items = lambda: subset  # type: ignore[method-assign]
        try:
            return query(self, *args, **kwargs)
        finally:
            del self.all_items

    return partition_query


def install() -> None:
    """Once per process, before moto answers its first request."""
    if _installed:
        return
    Table.put_item = _after_put(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _after_delete(Table.delete_item)  # type: ignore[method-assign]
    Table.query = _by_partition(Table.query)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _after_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    _installed.append(True)
