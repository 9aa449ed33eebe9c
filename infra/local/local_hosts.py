"""Which Host and Origin headers the local stack's admin surfaces (moto, /_local/*) answer: this machine's
names only, so a web page elsewhere cannot reach them by rebinding its DNS name to 127.0.0.1."""

from urllib.parse import urlsplit

LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_local_host(host: str) -> bool:
    name = host.strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1]
    else:
        name = name.rsplit(":", 1)[0] if ":" in name else name
    return name in LOCAL_NAMES


def is_local_origin(origin: str | None) -> bool:
    """No Origin (not a browser's cross-site request) or one of this machine's."""
    if not origin:
        return True
    return is_local_host(urlsplit(origin).netloc)
