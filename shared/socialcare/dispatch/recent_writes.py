"""This process's own recent assignments, merged into what dispatch reads from the eventually consistent
index."""

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from socialcare.data.dispatch import AssignmentWrite

# How long this process trusts its own recent writes over what the (eventually consistent) index shows.
RECENT_WRITES = 30.0  # seconds


@dataclass
class RecentWrites:
    """This process's own recent writes, merged into what it reads from the eventually consistent index, so
    a batch of mentions handled one after the other sees its own assignments at once. Only a hint: the
    transaction checks the cursor and the conversation's agent; open counts were never exact across runs."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cursor: tuple[float, str] | None = None
    conversations: dict[str, tuple[float, str]] = field(default_factory=dict)
    open: dict[str, dict[str, float]] = field(default_factory=dict)  # email -> mention id -> when

    def _fresh(self, at: float) -> bool:
        return time.monotonic() - at < RECENT_WRITES

    def remember(self, write: AssignmentWrite) -> None:
        now = time.monotonic()
        with self.lock:
            if write.cursor:
                self.cursor = (now, write.cursor)
            if write.conversation_id and write.conversation_agent:
                self.conversations[write.conversation_id] = (now, write.conversation_agent)
            for email in write.recipients:
                self.open.setdefault(email, {})[write.mention_id] = now
            self.conversations = {k: v for k, v in self.conversations.items() if self._fresh(v[0])}
            self.open = {
                email: {m: at for m, at in ids.items() if self._fresh(at)} for email, ids in self.open.items()
            }

    def forget_open(self, email: str, mention_id: str) -> None:
        with self.lock:
            self.open.get(email, {}).pop(mention_id, None)

    def cursor_or(self, read: str | None) -> str | None:
        with self.lock:
            return self.cursor[1] if self.cursor and self._fresh(self.cursor[0]) else read

    def conversation_agent_or(self, conversation_id: str, read: str | None) -> str | None:
        with self.lock:
            mine = self.conversations.get(conversation_id)
            return mine[1] if mine and self._fresh(mine[0]) else read

    def open_count(self, email: str) -> int:
        with self.lock:
            return sum(1 for at in self.open.get(email, {}).values() if self._fresh(at))

    def open_ids(self, email: str, read: Iterable[str]) -> Iterator[str]:
        """This process's recent assignments to the agent first (the likeliest to be still open), then those
        `read` has besides, each once; lazily, so a caller that has seen enough leaves `read` unread."""
        with self.lock:
            mine = [m for m, at in self.open.get(email, {}).items() if self._fresh(at)]
        yield from mine
        seen = set(mine)
        for mention_id in read:
            if mention_id not in seen:
                seen.add(mention_id)
                yield mention_id
