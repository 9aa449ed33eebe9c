"""Text a stranger wrote (a mention, a name), made safe to put in our own texts, emails and replies.

Format characters (Unicode category Cf: bidi embeddings, overrides and isolates, zero-width spaces, word
joiners, the BOM, tag characters) are invisible, yet bidi controls reorder what follows them and the others
hide what a text really says. They are removed from texts and emails; pages isolate the stranger's words
instead (<bdi>, dir="auto"). The zero-width joiner and non-joiner stay: emoji sequences and scripts such as
Persian need them to be read right."""

import unicodedata

_JOINERS = frozenset("\u200c\u200d")
# Letters and symbols that render as nothing (Hangul fillers, the braille blank): blank, though not Cf.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def without_format_characters(text: str) -> str:
    """The text without invisible format characters (joiners kept) and control characters (line ends and
    tabs kept)."""
    return "".join(
        char
        for char in text
        if char in _JOINERS or char in "\n\t" or unicodedata.category(char) not in ("Cf", "Cc")
    )


def is_blank(text: str) -> bool:
    """Nothing visible: only whitespace, format characters (joiners included) and blank glyphs."""
    return all(
        char.isspace() or char in _BLANK_GLYPHS or unicodedata.category(char) in ("Cf", "Cc", "Zs")
        for char in text
    )
