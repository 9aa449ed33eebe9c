"""Reply-link tokens in the table: only their hash is stored, they are found by the raw token, used once, and
DynamoDB's TTL removes them a week after the link itself expired."""

from datetime import UTC, datetime, timedelta

from socialcare.data import table
from socialcare.data.tokens import KEEP_AFTER_EXPIRY, TokenStore
from socialcare.dispatch.notifier import mask_phone
from socialcare.replies.tokens import hash_token
from tests.integration.conftest import Aws

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_a_token_is_stored_as_its_hash_and_found_by_the_raw_token(aws: Aws) -> None:
    tokens = TokenStore(table(aws.table_name))
    token = tokens.create("x-1", "Ann@Example.com", NOW, timedelta(hours=2))

    (item,) = aws.items()
    assert item["pk"] == f"TOKEN#{hash_token(token)}" and token not in str(item)
    assert int(item["expires_at"]) == int((NOW + timedelta(hours=2) + KEEP_AFTER_EXPIRY).timestamp())

    link = tokens.find(token)
    assert link is not None
    assert (link.mention_id, link.agent_email) == ("x-1", "ann@example.com")
    assert link.created_at == NOW and link.expires_at == NOW + timedelta(hours=2)
    assert not link.is_expired(NOW + timedelta(minutes=119)) and link.is_expired(NOW + timedelta(hours=2))
    assert link.used_at is None and link.reply_id is None
    assert tokens.find(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert tokens.find("") is None


def test_a_token_is_marked_used_once(aws: Aws) -> None:
    tokens = TokenStore(table(aws.table_name))
    token = tokens.create("x-1", "ann@example.com", NOW)
    assert tokens.mark_used(token, "reply-1", NOW + timedelta(minutes=1)) is True
    assert tokens.mark_used(token, "reply-2", NOW + timedelta(minutes=2)) is False
    assert tokens.mark_used("never-issued", "reply-3", NOW) is False
    link = tokens.find(token)
    assert link is not None and link.reply_id == "reply-1" and link.used_at == NOW + timedelta(minutes=1)


def test_phone_numbers_are_masked_for_logs() -> None:
    assert mask_phone("+14155550123") == "+141******23"
    assert "5550" not in mask_phone("+14155550123")
    assert mask_phone("+123") == "***"
