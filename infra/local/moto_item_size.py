"""Items in moto whose size is counted once per write, not once per attribute.

moto builds a written item one attribute at a time into a `LimitedSizeDict`, which re-measures every
attribute already there before adding the next: a put costs the square of the item's attributes. A stored
mention has about 25, so each put cost moto several times what the rest of a webhook delivery did, a cost
DynamoDB does not have (it was most of `make bench`'s warm time, and of the local stack's per write). Here
the item's attributes are measured once, the same 400 KB limit is checked on their sum (the same verdict:
the running total only grows), and they are stored at once. Updates keep moto's own code.

The replaced function is pinned by its source, as in `moto_transactions`."""

import hashlib
import inspect
from typing import Any

import moto
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize

WRITTEN_FOR = "5.2.5"
# sha256 of the source of moto's Item.__init__ this module replaces (moto 5.2.5).
REPLACED_SOURCE_SHA256 = "d9c12b62cb921831aab9b2eb22ac24fbd600689064a0219ae3ffbe057ae4be74"
# moto's own limit (LimitedSizeDict): DynamoDB's 400 KB, as measured against the real service.
ITEM_SIZE_LIMIT = 405000
_installed: list[bool] = []

# moto's own, as imported: what the pin is checked against.
MOTO_ITEM_INIT = Item.__init__


def item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, values)  # measured above: LimitedSizeDict's own check would measure again


def ensure_replaceable(function: Any) -> None:
    """Stop, naming the versions, unless `function` is the moto code this module was written against."""
    source_sha256 = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()
    if source_sha256 != REPLACED_SOURCE_SHA256:
        raise RuntimeError(
            f"moto {moto.__version__}: Item.__init__ is not the one infra/local/moto_item_size.py replaces "
            f"(moto {WRITTEN_FOR}); compare the two and update it"
        )


def install() -> None:
    """Once per process, before moto answers its first request (the local stack, the tests, `make bench`)."""
    if _installed:
        return
    ensure_replaceable(MOTO_ITEM_INIT)
    Item.__init__ = item_init  # type: ignore[method-assign]
    _installed.append(True)
