"""socialcare.data.attribute_values against boto3's TypeSerializer and TypeDeserializer, the rules it follows
(it does not import boto3, whose import a cold start would pay for): the same attribute values for every
value, the same error for every value boto3 refuses, and the same Python values read back."""

from decimal import Decimal, Inexact, Overflow, Underflow
from enum import StrEnum
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from socialcare.data.attribute_values import from_attribute, to_attribute

BOTO3_SERIALIZER = TypeSerializer()
BOTO3_DESERIALIZER = TypeDeserializer()

numbers = st.integers() | st.decimals(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | numbers | st.text() | st.binary()
sets = (
    st.frozensets(st.integers(), max_size=4)
    | st.sets(st.text(), max_size=4)
    | st.sets(st.binary(), max_size=4)
)
values = st.recursive(
    scalars | sets,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def outcome(convert: Any, value: Any) -> Any:
    """What `convert` gives for `value`, or the class of error it raises."""
    try:
        return convert(value)
    except (TypeError, ArithmeticError) as error:
        return type(error)


def boto3_read(value: Any) -> Any:
    """boto3's Python value, with its Binary wrapper as the bytes it wraps (this module reads B as bytes)."""
    read = BOTO3_DESERIALIZER.deserialize(value)
    return as_plain_bytes(read)


def as_plain_bytes(value: Any) -> Any:
    if isinstance(value, Binary):
        return bytes(value.value)
    if isinstance(value, dict):
        return {key: as_plain_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_plain_bytes(item) for item in value]
    if isinstance(value, set) and any(isinstance(item, Binary) for item in value):
        return {bytes(item.value) for item in value}
    return value


@given(values)
def test_every_value_is_written_as_boto3_writes_it_and_read_back_as_boto3_reads_it(value: Any) -> None:
    written = outcome(to_attribute, value)
    assert written == outcome(BOTO3_SERIALIZER.serialize, value)
    if isinstance(written, dict):
        assert from_attribute(written) == boto3_read(written)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, TypeError),  # floats lose digits: Decimal, as boto3 asks
        ([1, {"a": 0.1}], TypeError),
        ({1, 2.5}, TypeError),
        (Decimal("NaN"), TypeError),
        (Decimal("Infinity"), TypeError),
        (Decimal("1." + "1" * 40), Inexact),  # DynamoDB keeps 38 digits: rounding is refused
        (Decimal("1e200"), Overflow),
        (Decimal("1e-200"), Underflow),
        (10**40 + 1, Inexact),
        (object(), TypeError),
        ({1, "a"}, TypeError),
    ],
)
def test_a_value_dynamodb_cannot_hold_exactly_is_refused_as_boto3_refuses_it(value: Any, error: type) -> None:
    assert outcome(to_attribute, value) is error
    assert issubclass(outcome(BOTO3_SERIALIZER.serialize, value), error)


class Status(StrEnum):
    OPEN = "open"


def test_the_values_items_are_made_of_and_their_round_trip() -> None:
    item = {
        "pk": "MENTION#x-1",
        "status": Status.OPEN,
        "count": 3,
        "score": Decimal("4.5"),
        "urgent": False,
        "note": None,
        "tags": {"a", "b"},
        "raw": {"text": "hi", "ids": [1, 2]},
        "blob": b"\x00\xff",
    }
    wire = {name: to_attribute(value) for name, value in item.items()}
    assert wire["status"] == {"S": "open"} and wire["count"] == {"N": "3"} and wire["note"] == {"NULL": True}
    assert wire["raw"] == {"M": {"text": {"S": "hi"}, "ids": {"L": [{"N": "1"}, {"N": "2"}]}}}
    read = {name: from_attribute(value) for name, value in wire.items()}
    assert read == {**item, "count": Decimal(3), "raw": {"text": "hi", "ids": [Decimal(1), Decimal(2)]}}


@pytest.mark.parametrize("value", [{}, {"X": "1"}])
def test_an_attribute_value_of_no_known_type_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        from_attribute(value)
    with pytest.raises(TypeError):
        BOTO3_DESERIALIZER.deserialize(value)
