"""`mentions list/show --json` carry the latest reply's state and failure reason; `--status reply_failed`
is a status the command line takes."""

from datetime import UTC, datetime, timedelta

from infra.cli.mentions import mention_status, with_reply
from socialcare.data.replies import Reply, ReplyState
from socialcare.models import MentionStatus

CREATED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def reply(reply_id: str, state: ReplyState, minutes: int, reason: str | None = None) -> Reply:
    return Reply(
        mention_id="x-1",
        reply_id=reply_id,
        platform="x",
        text="Hello",
        agent_email="ann@example.com",
        state=state,
        created_at=CREATED + timedelta(minutes=minutes),
        failure_reason=reason,
    )


class Replies:
    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def for_mention(self, mention_id: str) -> list[Reply]:
        return [r for r in self.replies if r.mention_id == mention_id]


def test_the_latest_reply_gives_the_status_and_reason() -> None:
    stored = Replies(
        reply("b", ReplyState.FAILED, 5, "X refused: duplicate content"),
        reply("a", ReplyState.SENT, 1),
    )
    summary = with_reply({"id": "x-1"}, stored)  # type: ignore[arg-type]
    assert summary["reply_status"] == "failed"
    assert summary["failure_reason"] == "X refused: duplicate content"


def test_a_sent_reply_has_no_failure_reason_and_a_mention_without_one_no_status() -> None:
    sent = reply("a", ReplyState.SENT, 1).model_copy(update={"sent_via": "lookup"})
    summary = with_reply({"id": "x-1"}, Replies(sent))  # type: ignore[arg-type]
    assert summary["reply_status"] == "sent" and summary["failure_reason"] is None
    assert summary["reply_sent_via"] == "lookup"
    assert "reply_status" not in with_reply({"id": "x-2"}, Replies(reply("a", ReplyState.SENT, 1)))  # type: ignore[arg-type]


def test_reply_failed_is_a_status_to_list_by() -> None:
    assert mention_status("reply_failed") is MentionStatus.REPLY_FAILED
