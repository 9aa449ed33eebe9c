"""Python values as DynamoDB's attribute values ({"S": ...}, {"N": ...}, ...) and back, by the rules of
boto3's TypeSerializer and TypeDeserializer, so an item reads back as boto3's Table resource would give it.
tests/unit/test_attribute_values.py checks both directions against boto3's own, value by value.

Not imported from boto3: importing any of its modules runs boto3/__init__, which loads s3transfer and the
resource layer (socialcare.aws_clients says what that costs a cold start).

    Python                          DynamoDB
    None                            NULL
    bool                            BOOL
    int, Decimal                    N, at DynamoDB's precision (38 digits; a value it would round is refused)
    float                           refused, as boto3 does: use Decimal
    str                             S
    bytes, bytearray                B (read back as bytes, where boto3 wraps them in its Binary)
    a set of numbers, str or bytes  NS, SS or BS
    a Mapping                       M
    list, tuple                     L
"""

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's numbers: 38 significant digits, exponents -128 to 126; any rounding is an error, not a surprise.
DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def to_attribute(value: Any) -> dict[str, Any]:
    """One Python value as an attribute value. The types an item is mostly made of are tested first."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is dict:
        return {"M": {key: to_attribute(item) for key, item in value.items()}}
    if kind is list:
        return {"L": [to_attribute(item) for item in value]}
    if value is None:
        return {"NULL": True}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):  # a StrEnum, say: sent as the string it is
        return {"S": value}
    if _is_binary(value):
        return {"B": value}
    return _collection(value)


def _collection(value: Any) -> dict[str, Any]:
    if isinstance(value, Set):
        if all(map(_is_number, value)):
            return {"NS": [_number(item) for item in value]}
        if all(isinstance(item, str) for item in value):
            return {"SS": list(value)}
        if all(map(_is_binary, value)):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {key: to_attribute(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(item) for item in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal)  # bools are ints: a set of them is a number set, as in boto3


def _is_binary(value: Any) -> bool:
    return isinstance(value, bytes | bytearray)


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def from_attribute(value: Mapping[str, Any]) -> Any:
    """One attribute value as the Python value boto3 gives (numbers as Decimal, sets as sets)."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, inner = next(iter(value.items()))
    read = _READERS.get(kind)
    if read is None:
        raise TypeError(f"Dynamodb type {kind} is not supported")
    return read(inner)


_READERS: dict[str, Callable[[Any], Any]] = {
    "S": lambda inner: inner,
    "N": DYNAMODB_CONTEXT.create_decimal,
    "BOOL": lambda inner: inner,
    "M": lambda inner: {key: from_attribute(item) for key, item in inner.items()},
    "L": lambda inner: [from_attribute(item) for item in inner],
    "NULL": lambda _inner: None,
    "B": bytes,
    "SS": set,
    "NS": lambda inner: set(map(DYNAMODB_CONTEXT.create_decimal, inner)),
    "BS": lambda inner: set(map(bytes, inner)),
}
