"""Ingest: a verified, parsed delivery becomes stored mentions, each once, each in its conversation.

One delivery may batch hundreds of events (Meta), and platforms resend what they are not sure we got. So reads
are batched (one BatchGetItem per 100 ids: what we already have, the parents that replies join, the mentions
that edits change) and writes are overlapped conditional writes: a 500-change batch is stored in seconds, and
its resend costs a few reads and no writes. Everything is checked before the first write, so a delivery we
refuse (4xx) leaves nothing behind.

Edits of a mention we never stored (we missed its creation, or it predates the subscription) store the edited
mention as new: it is still a customer waiting for an answer. Edits of a stored one replace its text and keep
the previous text in the item's edit_history, in the platform's order: an edit older (by the platform's time
of the event) than the stored text is a late resend: it does not replace the text, so the agent never answers
words the customer already changed, but it joins edit_history marked out of order (unless the history has
those words already), so nothing the customer wrote is hidden."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from socialcare.data.mentions import (
    MAX_ID_BYTES,
    MentionStore,
    fits_in_an_item,
    parallel_map,
    sortable_time,
)
from socialcare.errors import MalformedPayload, PayloadTooLarge
from socialcare.ingest.enrichment import (
    FIRST_RETRY_AFTER,
    INGEST_FETCH_BUDGET_S,
    TextFetcher,
    fetch_texts,
    needs_link,
    needs_text,
)
from socialcare.models import Delivery, Mention, mention_id, utc_now
from socialcare.observability import logger

# A racing edit (two deliveries editing the same mention) is retried this many times with a fresh read.
EDIT_ATTEMPTS = 3


@dataclass
class IngestResult:
    stored: list[Mention] = field(default_factory=list)
    duplicates: int = 0
    edited: int = 0
    gone: int = 0
    text_pending: int = 0
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the webhook answers (platforms ignore it; people reading logs and tests do not)."""
        return {
            "stored": len(self.stored),
            "duplicates": self.duplicates,
            "edited": self.edited,
            "gone": self.gone,
            "text_pending": self.text_pending,
            "ignored": self.ignored,
        }


PRE_READ_ABOVE = 10


def assign_conversations(mentions: list[Mention], known: dict[str, Mention]) -> None:
    """A reply joins the conversation of what it answers (when we have it); otherwise the thread's own key.

    `known` holds the stored mentions read beforehand; parents in the same delivery count too."""
    by_id = {m.id: m for m in mentions}
    for mention in sorted(mentions, key=lambda m: m.created_at):
        if mention.conversation_id:
            continue
        parent = None
        if mention.in_reply_to:
            parent_key = mention_id(mention.platform, mention.in_reply_to)
            parent = by_id.get(parent_key) or known.get(parent_key)
        if parent is not None and parent.conversation_id:
            mention.conversation_id = parent.conversation_id
        else:
            mention.conversation_id = f"{mention.platform}:{mention.thread_key}"


MAX_NUMBER = 10**38  # DynamoDB numbers have at most 38 significant digits


def check_storable(delivery: Delivery) -> None:
    """Refuse, before anything is written, what DynamoDB would refuse halfway through (a 5xx, resent for
    days): ids too long for a key, numbers too large for a number, mentions too large for an item."""
    identifiers: list[tuple[str, str | None]] = []
    for mention in [*delivery.mentions, *delivery.edits]:
        identifiers += [
            ("id", mention.external_id),
            ("thread", mention.thread_key),
            ("in_reply_to", mention.in_reply_to),
            ("author id", mention.author.id),
        ]
    identifiers += [("id", tombstone.external_id) for tombstone in delivery.tombstones]
    for name, value in identifiers:
        if value is not None and len(value.encode("utf-8")) > MAX_ID_BYTES:
            raise MalformedPayload(f"a mention's {name} is longer than {MAX_ID_BYTES} bytes")
    for mention in [*delivery.mentions, *delivery.edits]:
        try:
            sortable_time(mention.created_at)
        except (OverflowError, ValueError) as error:  # e.g. year 1 with a positive offset
            raise MalformedPayload(f"mention {mention.external_id[:64]} has an impossible time") from error
        followers = mention.author.followers
        if followers is not None and abs(followers) >= MAX_NUMBER:
            raise MalformedPayload(f"mention {mention.external_id[:64]} has an impossible follower count")
        if not fits_in_an_item(mention):
            raise PayloadTooLarge(f"mention {mention.external_id[:64]} is too large to store")


def fingerprint(delivery: Delivery) -> str:
    """What a delivery would write, independent of when it arrived: its resends have the same one."""
    parts = sorted(
        [f"mention:{m.id}:{_digest(m.text)}" for m in delivery.mentions]
        + [f"edit:{m.id}:{_digest(m.text)}" for m in delivery.edits]
        + [f"gone:{mention_id(t.platform, t.external_id)}:{t.status.value}" for t in delivery.tombstones]
    )
    return _digest(json.dumps(parts))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _unique(mentions: Iterable[Mention]) -> list[Mention]:
    """First of each id: two subscribed accounts (or two entries) may carry the same event."""
    seen: dict[str, Mention] = {}
    for mention in mentions:
        seen.setdefault(mention.id, mention)
    return list(seen.values())


def ingest(
    delivery: Delivery,
    store: MentionStore,
    *,
    fetch_text: TextFetcher | None = None,
    delivery_id: str | None = None,
) -> IngestResult:
    """Store a delivery's new mentions once, apply its edits and tombstones.

    fetch_text: fetches the text of mentions that came as ids only (raw["needs_text"]); without it, or when
    it fails, they are stored with text_pending for socialcare.enrichment.retry_pending_texts. It also
    fetches the link of mentions that came without one (raw["needs_link"]); those are stored without it
    when it fails.
    delivery_id: the platform's id of this delivery, the same on every resend (Standard Webhooks' webhook-id,
    prefixed with the source). Dedup by platform and external id already makes a resend store nothing; the id
    also stops a resend that reuses it with *other* content: the first content claims it (a conditional put),
    and later content under the same id is acknowledged and not stored."""
    check_storable(delivery)
    writes = delivery.mentions or delivery.edits or delivery.tombstones
    if delivery_id is not None and writes and not store.claim_delivery(delivery_id, fingerprint(delivery)):
        logger.warning("delivery id reused with other content; nothing stored", delivery_id=delivery_id[:128])
        return IngestResult(
            duplicates=len(delivery.mentions) + len(delivery.edits), ignored=list(delivery.ignored)
        )

    mentions = _unique(delivery.mentions)
    edit_groups: dict[str, list[Mention]] = {}
    for edit in delivery.edits:
        edit_groups.setdefault(edit.id, []).append(edit)
    known = _read_known(store, mentions, delivery.edits)

    fresh = [m for m in mentions if m.id not in known]
    fresh_ids = {m.id for m in fresh}
    # An edit of a mention we do not have is stored as the mention (its latest text).
    edited_as_new = [
        group[-1] for key, group in edit_groups.items() if key not in known and key not in fresh_ids
    ]
    assign_conversations([*fresh, *edited_as_new], known)

    _fetch_or_defer_texts(store, fresh, fetch_text)
    stored = store.put_all_if_new([*fresh, *edited_as_new])
    edited = _edit_all(store, edit_groups, known, fresh, stored)
    gone = store.mark_all_gone(delivery.tombstones)
    stored_from_delivery = [m for m in stored if m.id in fresh_ids]
    result = IngestResult(
        stored=stored,
        duplicates=len(delivery.mentions) - len(stored_from_delivery),
        edited=edited,
        gone=gone,
        text_pending=sum(1 for m in stored if m.text_pending),
        ignored=list(delivery.ignored),
    )
    # Debug: the counts are the webhook's metrics and its answer, and formatting this line for every
    # delivery was a sixth of a warm delivery's own work (LogLevel DEBUG shows it).
    logger.debug(
        "delivery ingested",
        stored=[m.id for m in stored],
        duplicates=result.duplicates,
        edited=edited,
        gone=gone,
        text_pending=result.text_pending,
        ignored=delivery.ignored,
    )
    return result


def _read_known(store: MentionStore, mentions: list[Mention], edits: list[Mention]) -> dict[str, Mention]:
    """What the delivery touches that is stored already: the edited mentions, the posts answered, and (for a
    large delivery) its own mentions."""
    wanted = {edit.id for edit in edits}
    wanted |= {mention_id(m.platform, m.in_reply_to) for m in [*mentions, *edits] if m.in_reply_to}
    # Reading a large delivery's own ids first turns its resend into a few batched reads instead of a failed
    # conditional put per mention; a small delivery relies on its conditional puts alone (one call, not two).
    # Mentions whose text must be fetched are always read first, so a resend never fetches again.
    # So are mentions whose link must be fetched.
    wanted |= {m.id for m in mentions if len(mentions) > PRE_READ_ABOVE or needs_text(m) or needs_link(m)}
    return store.get_many(wanted) if wanted else {}


def _fetch_or_defer_texts(store: MentionStore, fresh: list[Mention], fetch_text: TextFetcher | None) -> None:
    """Fetch the texts (and links) that did not come with the delivery, within the ingest budget; a text
    still missing is stored with text_pending and retried by the sweep, a link is left out."""
    to_fetch = [m for m in fresh if needs_text(m) or needs_link(m)]
    if fetch_text is not None:
        fetch_texts(to_fetch, fetch_text, INGEST_FETCH_BUDGET_S)
    else:
        for mention in filter(needs_text, to_fetch):
            mention.text_pending = True
    pending = [m for m in fresh if m.text_pending]
    if pending:
        store.add_pending_texts(pending, due_at=utc_now() + FIRST_RETRY_AFTER)


def _edit_all(
    store: MentionStore,
    edit_groups: dict[str, list[Mention]],
    known: dict[str, Mention],
    fresh: list[Mention],
    stored: list[Mention],
) -> int:
    """Apply each mention's edits (in parallel across mentions); how many changed a text."""
    stored_ids = {m.id for m in stored}
    fresh_ids = {m.id for m in fresh}
    # What an edit applies to: what we read, or what this delivery just stored; None means read it again
    # (a concurrent delivery stored it between our read and our write).
    bases: dict[str, Mention | None] = {key: known.get(key) for key in edit_groups}
    for mention in fresh:
        if mention.id in stored_ids and mention.id in bases:
            bases[mention.id] = mention
    to_edit = [
        (key, group) for key, group in edit_groups.items() if key not in stored_ids or key in fresh_ids
    ]
    return sum(parallel_map(lambda pair: _apply_edits(store, pair[1], bases[pair[0]]), to_edit))


def _apply_edits(store: MentionStore, edits: list[Mention], base: Mention | None) -> int:
    """Apply one mention's edits in delivery order, skipping any older than the stored text; returns how
    many changed its text."""
    applied = 0
    current = (base.text, _text_time(base)) if base is not None else None
    for edit in edits:
        for _ in range(EDIT_ATTEMPTS):
            if current is None:
                stored = store.get(edit.id)
                if stored is None:
                    return applied  # nothing to edit (cannot happen after the put above; be safe)
                current = (stored.text, _text_time(stored))
            text, written_at = current
            if edit.text_at is not None and edit.text_at < written_at:
                kept = store.record_late_edit(edit.id, edit.text, edit.text_at, utc_now())
                logger.info(
                    "edit older than the stored text kept in its history", mention_id=edit.id, kept=kept
                )
                break
            if text == edit.text:
                break  # a resend of an edit already applied
            if store.replace_text(edit.id, text, edit.text, edited_at=utc_now(), text_at=edit.text_at):
                current = (edit.text, edit.text_at or written_at)
                applied += 1
                break
            current = None  # someone else changed it first: read again
    return applied


def _text_time(mention: Mention) -> datetime:
    return mention.text_at or mention.created_at
