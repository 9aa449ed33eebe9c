"""Ingest: a verified, parsed delivery becomes stored mentions, each once, each in its conversation."""

from dataclasses import dataclass, field

from socialcare.data.mentions import MentionStore
from socialcare.models import Delivery, Mention, mention_id
from socialcare.observability import logger


@dataclass
class IngestResult:
    stored: list[Mention] = field(default_factory=list)
    duplicates: int = 0
    gone: int = 0
    ignored: list[str] = field(default_factory=list)


def assign_conversations(mentions: list[Mention], store: MentionStore) -> None:
    """A reply joins the conversation of what it answers (when we have it); otherwise the thread's own key.

    Parents are looked up in one batched read, and parents in the same delivery count too."""
    by_id = {m.id: m for m in mentions}
    parent_ids = {mention_id(m.platform, m.in_reply_to) for m in mentions if m.in_reply_to}
    stored_parents = store.get_many(parent_ids - by_id.keys()) if parent_ids else {}
    for mention in sorted(mentions, key=lambda m: m.created_at):
        if mention.conversation_id:
            continue
        parent = None
        if mention.in_reply_to:
            parent_key = mention_id(mention.platform, mention.in_reply_to)
            parent = by_id.get(parent_key) or stored_parents.get(parent_key)
        if parent is not None and parent.conversation_id:
            mention.conversation_id = parent.conversation_id
        else:
            mention.conversation_id = f"{mention.platform}:{mention.thread_key}"


def ingest(delivery: Delivery, store: MentionStore) -> IngestResult:
    assign_conversations(delivery.mentions, store)
    stored = store.put_all_if_new(delivery.mentions)
    gone = sum(store.mark_gone(tombstone) for tombstone in delivery.tombstones)
    result = IngestResult(
        stored=stored,
        duplicates=len(delivery.mentions) - len(stored),
        gone=gone,
        ignored=delivery.ignored,
    )
    logger.info(
        "delivery ingested",
        stored=[m.id for m in stored],
        duplicates=result.duplicates,
        gone=gone,
        ignored=delivery.ignored,
    )
    return result
