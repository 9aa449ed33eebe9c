"""Mention keys: one key per (platform, platform's id), whatever the source names and ids contain."""

from hypothesis import given
from hypothesis import strategies as st

from socialcare.models import mention_id
from socialcare.platforms.sources.config import SOURCE_NAME

# Small alphabets with `-` make colliding pairs likely; the names are valid source names.
NAMES = st.from_regex(r"[ab][ab-]{0,3}", fullmatch=True).filter(
    lambda n: SOURCE_NAME.fullmatch(n) is not None
)
IDS = st.from_regex(r"[ab.-]{1,4}", fullmatch=True)


@given(NAMES, IDS, NAMES, IDS)
def test_different_mentions_never_share_a_key(name: str, id_: str, other_name: str, other_id: str) -> None:
    if (name, id_) != (other_name, other_id):
        assert mention_id(name, id_) != mention_id(other_name, other_id)


def test_built_in_platforms_keep_their_keys_and_a_source_names_dash_is_a_dot() -> None:
    assert mention_id("x", "1850000000000000001") == "x-1850000000000000001"
    assert mention_id("reviews", "rev-1") == "reviews-rev-1"
    assert (mention_id("a", "b-c"), mention_id("a-b", "c")) == ("a-b-c", "a.b-c")
