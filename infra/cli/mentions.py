"""`socialcare mentions ...`: what customers said, newest first; one mention with its whole conversation."""

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra.cli.connection import CliError, stack_outputs
from infra.cli.inputs import check_platforms, instant, positive_int

# The data layer (botocore, pydantic) is imported by the commands that read, not by `socialcare --help`.
if TYPE_CHECKING:
    from socialcare.data.dynamo import Table
    from socialcare.data.mentions import MentionStore
    from socialcare.data.replies import ReplyStore
    from socialcare.models import Mention, MentionStatus


def mention_table(arguments: argparse.Namespace) -> "Table":
    from socialcare.data import table

    return table(stack_outputs(arguments)["TableName"])


def mention_store(arguments: argparse.Namespace) -> "MentionStore":
    from socialcare.data.mentions import MentionStore

    return MentionStore(mention_table(arguments))


def reply_store(arguments: argparse.Namespace) -> "ReplyStore":
    from socialcare.data.replies import ReplyStore

    return ReplyStore(mention_table(arguments))


def with_reply(summary: dict[str, Any], replies: "ReplyStore") -> dict[str, Any]:
    """A mention with a reply carries its latest reply's state (pending, sending, sent, failed) and, when
    it failed, why: `mentions list --json` shows failures without opening the page. A sent one says how the
    sender knew it was out (`reply_sent_via`: posted, or found by a look-up after an uncertain attempt)."""
    stored = replies.for_mention(summary["id"])
    if stored:
        latest = max(stored, key=lambda reply: reply.created_at)
        summary["reply_status"] = latest.state.value
        summary["failure_reason"] = latest.failure_reason
        summary["reply_sent_via"] = latest.sent_via
    return summary


def mention_summary(mention: "Mention") -> dict[str, Any]:
    return {
        "id": mention.id,
        "platform": mention.platform,
        "external_id": mention.external_id,
        "kind": mention.kind.value,
        "author_handle": mention.author.handle,
        "author_name": mention.author.name,
        "text": mention.text,
        "status": mention.status.value,
        "conversation_id": mention.conversation_id,
        "is_ours": mention.is_ours,
        "text_pending": mention.text_pending,
        "url": mention.url,
        "created_at": mention.created_at.isoformat(),
        "received_at": mention.received_at.isoformat(),
        # Our first answer: when, and how long the customer waited for it (response time, never handle time).
        "answered_at": mention.answered_at.isoformat() if mention.answered_at else None,
        "first_response_seconds": mention.first_response_seconds,
    }


def mention_status(value: str) -> "MentionStatus":
    from socialcare.models import MentionStatus

    try:
        return MentionStatus(value.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in MentionStatus)
        raise argparse.ArgumentTypeError(
            f"unknown status {value!r} (known: {known}): try --status new"
        ) from None


def known_platforms(arguments: argparse.Namespace) -> list[str]:
    """The built-in platforms and the sources the running stack's configuration names."""
    from infra.cli.agents import configured_platforms

    return configured_platforms(arguments)


def cmd_mentions_list(arguments: argparse.Namespace) -> None:
    if arguments.platform:
        check_platforms([arguments.platform], known_platforms(arguments), "--platform")
    listing = {
        "include_ours": arguments.all,
        "platform": arguments.platform,
        "since": arguments.since,
        "limit": arguments.limit,
    }
    if arguments.json:
        replies = reply_store(arguments)
        mentions = mention_store(arguments).list(status=arguments.status, **listing)
        document = [with_reply(mention_summary(m), replies) for m in mentions]
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    # The lines are printed from the items as stored: the models (pydantic) are not imported to print them.
    from socialcare.data.mention_feed import mention_id_of_item, newest_items
    from socialcare.labels import author_label

    status = arguments.status.value if arguments.status else None
    items = newest_items(mention_table(arguments), status=status, **listing)
    if not items:
        print("No mentions.")
        return
    # Ids are as long as the platform makes them (an Instagram DM's is over 100 characters): the column is
    # as wide as the longest one listed, so the columns after it stay aligned.
    width = max(len(mention_id_of_item(item)) for item in items)
    for item in items:
        author = item.get("author") or {}
        label = author_label(author.get("handle"), author.get("name"), author.get("id", ""))
        text = item["text"].replace("\n", " ")
        received = f"{datetime.fromisoformat(item['received_at']):%Y-%m-%d %H:%M}"
        print(f"{received}  {mention_id_of_item(item):<{width}} {item['status']:<12} {label}: {text[:60]}")


def cmd_mentions_show(arguments: argparse.Namespace) -> None:
    store = mention_store(arguments)
    mention = store.get(arguments.id)
    if mention is None:
        raise CliError(
            f"no mention {arguments.id} (ids look like x-1850000000000000001; see `mentions list`)"
        )
    conversation = store.conversation(mention.conversation_id) if mention.conversation_id else []
    if mention.id not in {m.id for m in conversation}:  # stored before conversations were indexed
        conversation = sorted([*conversation, mention], key=lambda m: (m.created_at, m.id))
    if arguments.json:
        document = {
            "mention": with_reply(mention_summary(mention), reply_store(arguments)),
            "conversation": [mention_summary(m) for m in conversation],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    from socialcare.platforms import registry

    platform = registry.label(mention.platform)
    link = f"  Open on {platform}: {mention.url}" if mention.url else ""
    print(f"{mention.id}: {platform} {mention.kind.value}, {mention.status.value}{link}")
    count = len(conversation)
    print(f"Conversation {mention.conversation_id}: {count} mention{'s' * (count != 1)}, oldest first")
    print("(> this mention, * ours)")
    for entry in conversation:
        marker = ">" if entry.id == mention.id else "*" if entry.is_ours else " "
        text = "(text not fetched yet)" if entry.text_pending else entry.text
        first, *rest = text.splitlines() or [""]
        when = f"{entry.created_at:%Y-%m-%d %H:%M}"
        print(f"{marker} {when}  {entry.author.label} [{entry.status.value}]: {first}")
        for line in rest:
            print(f"    {line}")


def register(commands: Any) -> None:
    mentions = commands.add_parser("mentions", help="customers' mentions").add_subparsers(
        dest="mentions_command", required=True
    )
    listing = mentions.add_parser("list", help="newest first; our own posts only with --all")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--all", action="store_true", help="include the brand's own posts")
    listing.add_argument("--platform", help="x, facebook, instagram, bluesky, a source's or a feed's name")
    listing.add_argument(
        "--status",
        type=mention_status,
        help="new, waiting, assigned, opened, answered, reply_failed, ... (one of them)",
    )
    listing.add_argument(
        "--since",
        type=instant,
        help="received at or after: 2026-12-01 (midnight UTC), 2026-12-01T09:30 (UTC) or with an offset",
    )
    listing.add_argument("--limit", type=positive_int, default=100)
    listing.set_defaults(run=cmd_mentions_list)
    show = mentions.add_parser("show", help="one mention and its whole conversation, oldest first")
    show.add_argument("id", help="a mention's id, as `mentions list` prints it")
    show.add_argument("--json", action="store_true", help='print {"mention": ..., "conversation": [...]}')
    show.set_defaults(run=cmd_mentions_show)
