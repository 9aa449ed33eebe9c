"""How X counts a post's length (twitter-text v3): weighted code points, every http(s) URL as 23."""

import re
import unicodedata

POST_LIMIT = 280
DM_LIMIT = 10_000
URL_WEIGHT = 23  # X shortens every link to a t.co URL of this length
COUNTING_RULE = "Links count as 23 characters; emoji and CJK characters count as 2."

# twitter-text v3: code points in these ranges weigh 1, every other one 2 (CJK, emoji...).
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"""https?://[^\s/?#<>"'`]+[^\s<>"'`]*""", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\""
# An emoji sequence counts 2 as a whole on X (base + skin tone / VS16 / tags, joined by ZWJ), so do flags
# and keycaps. Bases outside the weight-1 ranges weigh 2 anyway; (c) and (R) are emoji only with VS16.
_EMOJI_BASE = "\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\u2934\u2935\u2b00-\u2bff"
_EMOJI_SUFFIX = "[\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*"
_EMOJI = re.compile(
    r"[#*0-9]\ufe0f?\u20e3"
    r"|[\U0001f1e6-\U0001f1ff]{2}"
    r"|[\u00a9\u00ae]\ufe0f"
    rf"|[{_EMOJI_BASE}]{_EMOJI_SUFFIX}(?:\u200d[{_EMOJI_BASE}]{_EMOJI_SUFFIX})*"
)


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and (
            text[end - 1] in _URL_TRAILING
            # A closing parenthesis belongs to the URL only when the URL opened one (Wikipedia-style links).
            or (text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end))
        ):
            end -= 1
        if _URL.fullmatch(text, start, end):
            spans.append((start, end))
    return spans


def _weight(text: str) -> int:
    weight = 0
    position = 0
    for match in _EMOJI.finditer(text):
        weight += _plain_weight(text[position : match.start()]) + 2
        position = match.end()
    return weight + _plain_weight(text[position:])


def _plain_weight(text: str) -> int:
    return sum(1 if any(low <= ord(char) <= high for low, high in _LIGHT_RANGES) else 2 for char in text)


def count_length(text: str) -> int:
    """The length X will see."""
    normalized = unicodedata.normalize("NFC", text)
    length = 0
    position = 0
    for start, end in _url_spans(normalized):
        length += _weight(normalized[position:start]) + URL_WEIGHT
        position = end
    return length + _weight(normalized[position:])
