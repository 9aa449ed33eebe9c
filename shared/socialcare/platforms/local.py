"""What a platform adapter brings to local runs and tests, beside the production path: the events
`socialcare simulate` sends (built and signed by the same payload builders the tests use), and the platform
simulator's answers for its API. Only the simulator, the CLI and the tests import this; Lambda never does."""

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from socialcare.platform_config import PlatformConfig

# (status, JSON answer or None, headers)
Answer = tuple[int, Any, dict[str, str]]


class Call(Protocol):
    """One request the simulator received (infra.simulator.server.RecordedCall)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> dict[str, list[str]]: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def body(self) -> Any: ...
    @property
    def status(self) -> int | None: ...
    @property
    def answer(self) -> Any: ...
    @property
    def timestamp(self) -> float: ...


class Simulator(Protocol):
    """What an adapter's simulated API may use: fresh ids, and every call received so far with its answer
    (look-ups are answered from what was really posted)."""

    @property
    def calls(self) -> Sequence[Call]: ...

    def next_id(self) -> str: ...


@dataclass(frozen=True)
class SignedRequest:
    """A webhook delivery as the platform sends it: where, the exact bytes, the signed headers. Or, for a
    platform we read rather than hear from, what the simulator is to publish next."""

    path: str
    body: bytes
    headers: dict[str, str]
    to_simulator: bool = False  # sent to the platform simulator (a feed's new entry), not to our API
    # Sent before it: what the simulator must hold when our look-up comes (a review's or a caption's
    # text, which the delivery names by id only).
    given: tuple["SignedRequest", ...] = ()


@dataclass(frozen=True)
class Option:
    """One command-line option of a simulated event (`--name`), passed to argparse as it is."""

    flags: tuple[str, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulatedEvent:
    """A `socialcare simulate <name>` command: `build` gets the parsed options (sender, text, id, reply_to
    and the event's own) and the configuration, and returns the signed delivery."""

    name: str
    help: str
    sender_help: str
    build: Callable[[Mapping[str, Any], PlatformConfig], SignedRequest]
    options: tuple[Option, ...] = ()


class LocalPlatform(Protocol):
    @property
    def events(self) -> Sequence[SimulatedEvent]: ...

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        """The platform's answer to `call`, or None when the call is not for this platform's API."""
        ...

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        """The (section, key) pairs of a configuration document that hold this platform's API URLs, so the
        local stack can point them at the simulator."""
        ...


class SimulationError(Exception):
    """An event cannot be built from this configuration (a missing secret, an unknown source)."""


def ok_calls(simulator: Simulator, method: str, path_matches: Callable[[str], bool]) -> list[Call]:
    """The calls that the simulator answered with a success: what really landed on the platform."""
    return [
        call
        for call in simulator.calls
        if call.method == method
        and path_matches(call.path)
        and call.status is not None
        and 200 <= call.status < 300
    ]


def section_urls(document: dict[str, Any], section: str, *keys: str) -> list[tuple[dict[str, Any], str]]:
    """The (section, key) pairs of `document` for the URL keys of one platform's section that are set: what
    a LocalPlatform's `simulated_urls` answers for a platform with one section."""
    found = document.get(section)
    return [(found, key) for key in keys if key in found] if isinstance(found, dict) else []


def field_of(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


def numeric_id(digits: int = 19) -> str:
    """An id shaped like the platforms' numeric ids, different on every call."""
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def stable_id(name: str, digits: int = 10) -> str:
    """The same author always gets the same id, so their mentions join one conversation."""
    return str(
        int(uuid.uuid5(uuid.NAMESPACE_URL, name).hex, 16) % (9 * 10 ** (digits - 1)) + 10 ** (digits - 1)
    )


def query_value(call: Call, name: str) -> str:
    values = call.query.get(name) or [""]
    return values[-1]
