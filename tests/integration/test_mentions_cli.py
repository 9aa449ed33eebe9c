"""`socialcare mentions show` in-process against moto: one mention with its whole conversation, oldest
first, ours marked, as text and as JSON."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra import cli
from infra.cli import mentions as mentions_cli
from socialcare.data import table
from socialcare.data.replies import ReplyStore
from tests.integration.conftest import Aws, Invoke, http_event
from tests.integration.webhook_requests import (
    IG_USER_ID,
    PAGE_ID,
    direct_message,
    messaging_delivery,
    meta_body,
    meta_headers,
    page_comment,
    page_delivery,
)


@pytest.fixture
def show(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    monkeypatch.setattr(mentions_cli, "mention_store", lambda _arguments: aws.mention_store())
    monkeypatch.setattr(mentions_cli, "reply_store", lambda _arguments: ReplyStore(table(aws.table_name)))

    def run(*arguments: str) -> str:
        cli.main(["mentions", "show", *arguments])
        return capsys.readouterr().out

    return run


@pytest.fixture
def thread(handlers: Callable[[str], Invoke]) -> None:
    """A customer's comment, our answer, their follow-up; and an unrelated comment on another post."""
    webhook = handlers("MetaWebhookFunction")
    comments = [
        page_comment("P1_C1", "My parcel never came"),
        page_comment(
            "P1_C2", "Sorry! Sending another", parent_id="P1_C1", author_id=PAGE_ID, author_name="Brand"
        ),
        page_comment("P1_C3", "Thanks,\nit arrived", parent_id="P1_C1"),
        page_comment("P8_C1", "Unrelated", post_id="P8"),
    ]
    for minute, value in enumerate(comments):
        value["created_time"] += 60 * minute
        body = meta_body(page_delivery(value))
        assert webhook(http_event("POST", "/webhooks/meta", body, meta_headers(body)))["statusCode"] == 200


def test_show_json_gives_the_mention_and_its_conversation_oldest_first(
    thread: None, show: Callable[..., str]
) -> None:
    document: dict[str, Any] = json.loads(show("facebook-P1_C3", "--json"))
    assert document["mention"]["id"] == "facebook-P1_C3"
    assert document["mention"]["text"] == "Thanks,\nit arrived"
    assert "reply_status" not in document["mention"], "only a mention with a reply has a reply status"
    conversation = document["conversation"]
    assert [m["id"] for m in conversation] == ["facebook-P1_C1", "facebook-P1_C2", "facebook-P1_C3"]
    assert [m["is_ours"] for m in conversation] == [False, True, False]
    assert {m["conversation_id"] for m in conversation} == {"facebook:P1"}


def test_show_prints_the_conversation_with_ours_and_this_one_marked(
    thread: None, show: Callable[..., str]
) -> None:
    lines = show("facebook-P1_C1").splitlines()
    assert lines[1].startswith("Conversation facebook:P1: 3 mentions, oldest first")
    body = lines[3:]
    # Facebook names people by name, never with an "@"; our own comment shows the Page's name.
    assert body[0].startswith("> ") and " Ana Cliente [new]: My parcel never came" in body[0]
    assert body[1].startswith("* ") and " Brand [ours]: Sorry! Sending another" in body[1]
    assert "@" not in "\n".join(body)
    assert body[2].startswith("  ") and body[2].endswith(": Thanks,") and body[3] == "    it arrived"
    assert "Unrelated" not in "\n".join(lines)


def test_show_of_an_unknown_id_fails_with_a_hint(
    aws: Aws, show: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        show("facebook-nothing")
    assert exited.value.code == 1
    assert "no mention facebook-nothing" in capsys.readouterr().err


def test_list_keeps_its_columns_aligned_whatever_the_length_of_the_ids(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(mentions_cli, "mention_table", lambda _arguments: table(aws.table_name))
    webhook = handlers("MetaWebhookFunction")
    long_mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMjYyNjg5NzU3OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1"
    deliveries = [
        page_delivery(page_comment("P1_C1", "My parcel never came")),
        messaging_delivery("instagram", direct_message(long_mid, "Hola?"), entry_id=IG_USER_ID),
    ]
    for payload in deliveries:
        body = meta_body(payload)
        assert webhook(http_event("POST", "/webhooks/meta", body, meta_headers(body)))["statusCode"] == 200
    capsys.readouterr()  # the handler's own output (its metrics) is not the command's

    cli.main(["mentions", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and any(long_mid in line for line in lines)
    assert len({line.index(" new ") for line in lines}) == 1, lines
