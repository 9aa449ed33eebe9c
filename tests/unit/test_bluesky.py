"""Bluesky's rules: what a notification becomes, and how a reply is counted."""

from socialcare.models import MentionKind
from socialcare.platforms import registry
from socialcare.platforms.bluesky.local import did_of, notification
from socialcare.platforms.bluesky.notifications import mention_of
from socialcare.platforms.bluesky.replies import graphemes


def test_graphemes_count_what_people_see() -> None:
    assert graphemes("hello") == 5
    assert graphemes("e\u0301") == 1  # e + combining accent
    assert graphemes("👍🏽") == 1  # a skin tone modifier
    assert graphemes("👩\u200d💻") == 1  # a zero-width joiner sequence
    assert graphemes("❤️") == 1  # a variation selector
    assert registry.reply_rules("bluesky", MentionKind.POST).limit == 300


def test_likes_follows_and_posts_in_another_s_repo_are_not_mentions() -> None:
    assert mention_of(notification("a.bsky.social", "hi", "1", reason="like"), "did:plc:brand") is None
    forged = notification("a.bsky.social", "hi", "2")
    forged["uri"] = f"at://{did_of('b.bsky.social')}/app.bsky.feed.post/2"
    assert mention_of(forged, "did:plc:brand") is None
    ours = mention_of(notification("brand.bsky.social", "hi", "3"), did_of("brand.bsky.social"))
    assert ours is not None and ours.is_ours
