"""What a process builds once (settings, stores, flows with their clients): one decorator, one reset.

Lambda keeps an execution environment warm between invocations, so clients and stores are built on first use
and kept. Each such builder is marked `@one_per_process`; the tests forget them all between cases with
`forget_all()`, instead of clearing each cache by hand (and missing the one added last)."""

from collections.abc import Callable
from functools import lru_cache
from typing import Any

_BUILDERS: list[Any] = []


def one_per_process[T](build: Callable[[], T]) -> Callable[[], T]:
    """`build()` runs once per process; later calls return what it built."""
    cached = lru_cache(maxsize=1)(build)
    _BUILDERS.append(cached)
    return cached


def forget_all() -> None:
    """Build everything again on next use (tests change the environment from one case to the next)."""
    for cached in _BUILDERS:
        cached.cache_clear()
