"""retry_pending_texts against moto: Instagram mentions stored without their text get it later, failures back
off, and after a day the sweep stops asking."""

from datetime import timedelta
from typing import Any

import pytest

from socialcare.data.mentions import TEXT_PENDING_PK, MentionStore
from socialcare.ingest.enrichment import retry_pending_texts
from socialcare.ingest.mentions import ingest
from socialcare.models import Author, Delivery, Mention, MentionKind, utc_now
from socialcare.platform_config import PlatformConfig
from socialcare.platforms import meta
from tests.integration.conftest import Aws


def instagram_mention(comment_id: str = "IGM1") -> Mention:
    return Mention(
        platform="instagram",
        external_id=comment_id,
        kind=MentionKind.COMMENT,
        author=Author(id=""),
        text="",
        created_at=utc_now(),
        thread_key="MEDIA1",
        in_reply_to="MEDIA1",
        raw={"comment_id": comment_id, "media_id": "MEDIA1", "needs_text": True},
    )


def failing_fetch(mention: Mention) -> dict[str, Any]:
    raise meta.GraphApiError("Please reduce the amount of data", code=4, status=400)


def fetched(mention: Mention) -> dict[str, Any]:
    return {"text": f"@brand about {mention.external_id}", "username": "dora", "timestamp": None}


@pytest.fixture
def store(aws: Aws) -> MentionStore:
    return aws.mention_store()


@pytest.fixture
def config(dev_config: dict[str, Any]) -> PlatformConfig:
    return PlatformConfig.model_validate(dev_config)


def markers(aws: Aws) -> list[dict[str, Any]]:
    return [item for item in aws.items() if item["pk"] == TEXT_PENDING_PK]


def pending(store: MentionStore, *comment_ids: str) -> None:
    result = ingest(
        Delivery(mentions=[instagram_mention(c) for c in comment_ids]), store, fetch_text=failing_fetch
    )
    assert result.text_pending == len(comment_ids)


def test_a_pending_text_is_filled_in_by_the_retry(
    aws: Aws, store: MentionStore, config: PlatformConfig
) -> None:
    pending(store, "IGM1", "IGM2")
    now = utc_now()
    assert retry_pending_texts(store, config, now=now, fetch=fetched).filled == 0  # not due for a minute
    result = retry_pending_texts(store, config, now=now + timedelta(minutes=1), fetch=fetched)
    assert result.filled == 2 and markers(aws) == []
    mention = store.get("instagram-IGM1")
    assert mention is not None and not mention.text_pending
    assert mention.text == "@brand about IGM1" and mention.author.handle == "dora"
    assert mention.conversation_id == "instagram:MEDIA1"
    assert retry_pending_texts(store, config, now=now + timedelta(minutes=5), fetch=fetched).filled == 0


def test_the_limit_bounds_one_run(aws: Aws, store: MentionStore, config: PlatformConfig) -> None:
    pending(store, "IGM1", "IGM2", "IGM3")
    later = utc_now() + timedelta(minutes=1)
    assert retry_pending_texts(store, config, limit=2, now=later, fetch=fetched).filled == 2
    assert len(markers(aws)) == 1


def test_failures_back_off_then_give_up_after_a_day(
    aws: Aws, store: MentionStore, config: PlatformConfig
) -> None:
    pending(store, "IGM1")
    start = utc_now()
    first = retry_pending_texts(store, config, now=start + timedelta(minutes=1), fetch=failing_fetch)
    assert first.rescheduled == 1
    (marker,) = markers(aws)
    assert marker["attempts"] == 1
    # Next attempt two minutes later, not one.
    assert (
        retry_pending_texts(store, config, now=start + timedelta(minutes=2), fetch=failing_fetch).rescheduled
        == 0
    )
    assert (
        retry_pending_texts(store, config, now=start + timedelta(minutes=4), fetch=failing_fetch).rescheduled
        == 1
    )
    given_up = retry_pending_texts(store, config, now=start + timedelta(days=2), fetch=failing_fetch)
    assert given_up.given_up == 1 and markers(aws) == []
    mention = store.get("instagram-IGM1")
    assert mention is not None and mention.text_pending and mention.text == ""


def test_a_marker_without_its_mention_is_dropped_after_a_while(
    aws: Aws, store: MentionStore, config: PlatformConfig
) -> None:
    now = utc_now()
    store.add_pending_texts([instagram_mention("IGM9")], due_at=now)  # the mention's own write failed
    assert retry_pending_texts(store, config, now=now + timedelta(minutes=1), fetch=fetched).rescheduled == 1
    assert len(markers(aws)) == 1
    assert retry_pending_texts(store, config, now=now + timedelta(minutes=30), fetch=fetched).dropped == 1
    assert aws.items() == []


def test_a_mention_that_already_has_its_text_only_loses_its_marker(
    aws: Aws, store: MentionStore, config: PlatformConfig
) -> None:
    ingest(Delivery(mentions=[instagram_mention("IGM5")]), store, fetch_text=fetched)
    store.add_pending_texts([instagram_mention("IGM5")], due_at=utc_now())  # a leftover duplicate marker
    asked: list[str] = []

    def record(mention: Mention) -> dict[str, Any]:
        asked.append(mention.id)
        return fetched(mention)

    result = retry_pending_texts(store, config, now=utc_now() + timedelta(seconds=1), fetch=record)
    assert result.dropped == 1 and asked == [] and markers(aws) == []


def test_without_meta_credentials_nothing_is_tried_or_lost(aws: Aws, store: MentionStore) -> None:
    pending(store, "IGM1")
    result = retry_pending_texts(store, PlatformConfig(), now=utc_now() + timedelta(minutes=1))
    assert result.filled == result.rescheduled == result.given_up == 0
    assert len(markers(aws)) == 1
