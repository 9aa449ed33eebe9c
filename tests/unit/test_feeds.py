"""Feeds: what an entry becomes, which entries a feed keeps, and the feeds section of the configuration."""

from datetime import UTC, datetime

import feedparser
import pytest
from pydantic import ValidationError

from socialcare.models import MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms import registry
from socialcare.platforms.feeds import FeedsConfig, FeedsPlatform
from socialcare.platforms.feeds.poll import entry_mention, html_to_text, matcher
from socialcare.platforms.sources import SourcesPlatform

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Shoe blog</title>
  <entry>
    <id>tag:shoes.example,2026:post-7</id>
    <title>Brand lost my boots</title>
    <link href="https://shoes.example/post-7"/>
    <author><name>Bea Blogger</name><uri>https://shoes.example/bea</uri></author>
    <updated>2026-11-30T09:15:00Z</updated>
    <content type="html">&lt;p&gt;Ordered from &lt;b&gt;Brand&lt;/b&gt; &amp;amp; waited.&lt;/p&gt;
      &lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Still nothing.&lt;/p&gt;</content>
  </entry>
</feed>"""

RSS_WITHOUT_GUID = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Forum</title>
<item><title>Question</title><link>https://forum.example/t/1</link>
  <description>Anyone tried brand?</description></item>
<item><title>No id, no link</title><description>brand</description></item>
</channel></rss>"""


def test_html_becomes_the_text_a_reader_sees() -> None:
    markup = (
        '<p>Hello &amp; <a href="x">welcome</a></p><script>steal()</script><style>p{}</style>'
        "<ul><li>one</li></ul>"
    )
    assert html_to_text(markup) == "Hello & welcome\none"


@pytest.mark.parametrize(
    ("words", "text", "kept"),
    [
        (["zappos"], "I love ZAPPOS shoes", True),
        (["zappos"], "zapposfan writes", False),  # whole words only
        (["@zappos"], "thanks @Zappos!", True),
        (["customer service"], "Their Customer  Service", False),
        (["customer service"], "their customer service rocks", True),
        ([], "anything at all", True),
        (["zappos", "brand"], "the brand again", True),
    ],
)
def test_match_words_are_whole_words_or_phrases_case_insensitive(
    words: list[str], text: str, kept: bool
) -> None:
    assert matcher(words)(text) is kept


def test_an_atom_entry_becomes_a_mention_with_title_text_author_link_and_time() -> None:
    (entry,) = feedparser.parse(ATOM).entries
    mention = entry_mention("shoes", entry, NOW)
    assert mention is not None
    assert mention.platform == "shoes"
    assert mention.external_id == "tag:shoes.example,2026:post-7"
    assert mention.kind is MentionKind.REVIEW
    assert mention.text == "Brand lost my boots\n\nOrdered from Brand & waited.\nStill nothing."
    assert mention.author.name == "Bea Blogger"
    assert mention.author.url == "https://shoes.example/bea"
    assert mention.url == "https://shoes.example/post-7"
    assert mention.created_at == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    assert mention.raw["title"] == "Brand lost my boots"


def test_an_entry_without_id_is_keyed_on_its_link_and_one_without_either_is_skipped() -> None:
    first, second = feedparser.parse(RSS_WITHOUT_GUID).entries
    mention = entry_mention("forum", first, NOW)
    assert mention is not None
    assert mention.external_id == "https://forum.example/t/1"
    assert mention.created_at == NOW  # no date in the feed: when we saw it
    assert entry_mention("forum", second, NOW) is None


def test_a_very_long_entry_id_is_kept_as_its_hash() -> None:
    entry = {"id": "https://forum.example/?" + "q" * 600, "title": "t", "summary": "brand"}
    mention = entry_mention("forum", entry, NOW)
    assert mention is not None
    assert mention.external_id.startswith("sha256-")
    again = entry_mention("forum", entry, NOW)
    assert again is not None
    assert again.external_id == mention.external_id  # the same entry is the same mention on every poll


def test_feed_names_follow_source_names_and_never_take_a_platform_s() -> None:
    FeedsConfig.model_validate({"shoe-blogs": {"url": "https://blogs.example/feed"}})
    with pytest.raises(ValidationError):
        FeedsConfig.model_validate({"x": {"url": "https://blogs.example/feed"}})
    with pytest.raises(ValidationError):
        FeedsConfig.model_validate({"Blogs": {"url": "https://blogs.example/feed"}})
    with pytest.raises(ValidationError):
        FeedsConfig.model_validate({"blogs": {"url": "ftp://blogs.example/feed"}})
    with pytest.raises(ValidationError):
        FeedsConfig.model_validate({"blogs": {"url": "https://blogs.example/feed", "match": ["  "]}})


def test_a_feed_s_mentions_are_answered_there_and_known_by_its_label() -> None:
    config = PlatformConfig.model_validate(
        {"feeds": {"blogs": {"url": "https://b.example/f", "label": "Blogs"}}}
    )
    assert isinstance(registry.adapter_for("blogs", config), FeedsPlatform)
    assert registry.label("blogs", config) == "Blogs"
    assert registry.answered_elsewhere("blogs", MentionKind.REVIEW, config)
    assert not registry.answered_elsewhere("x", MentionKind.POST, config)
    # Without the configuration a name is a source's, as before.
    assert isinstance(registry.adapter_for("blogs"), SourcesPlatform)
    assert "blogs" in registry.known_platforms(config)


def test_the_poller_function_runs_the_adapter_its_schedule_names() -> None:
    assert isinstance(registry.poller("feeds"), FeedsPlatform)
    with pytest.raises(LookupError):
        registry.poller("x")  # X calls us: nothing to poll
