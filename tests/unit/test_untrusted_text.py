"""A stranger's text made safe for our texts and emails: invisible format characters go, what is visible
stays; blank means nothing a reader could see."""

import pytest

from socialcare.untrusted_text import is_blank, without_format_characters

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_controls_and_zero_width_characters_are_removed() -> None:
    assert without_format_characters(f"Ann{BIDI}\u200b\u2060\ufeff Lee\x00\x1b") == "Ann Lee"


def test_line_ends_tabs_joiners_and_every_script_stay() -> None:
    text = "Hola\tJosé\n👨\u200d👩\u200d👧 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 日本語"
    assert without_format_characters(text) == text


@pytest.mark.parametrize("text", ["", " \n\t", "\u200b\u200c\u200d", BIDI, "\u3164\u2800\u00a0"])
def test_nothing_visible_is_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", [".", "\u200bok", "😀", "日"])
def test_anything_visible_is_not_blank(text: str) -> None:
    assert not is_blank(text)
