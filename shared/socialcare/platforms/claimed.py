"""The platform names the named adapters claim (x, facebook, ...), kept here so that the configured sections
(sources, feeds) can refuse a name that would pose as another platform without importing the registry, which
imports them. The registry fills it as it builds its index of adapters."""

_claimed: frozenset[str] = frozenset()


def claim(names: frozenset[str]) -> None:
    global _claimed
    _claimed = names


def claimed_names() -> frozenset[str]:
    return _claimed
