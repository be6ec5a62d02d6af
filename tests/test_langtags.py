"""BCP-47 tags: validated and normalised with langcodes, so `swh` and `sw` are one language."""

from __future__ import annotations

import pytest

from jamii.core.langtags import LanguageTagError, display_name, iso639, normalise_tag


@pytest.mark.parametrize("raw, normal", [
    ("sw", "sw"),
    ("swh", "sw"),           # Swahili (individual language) -> the macrolanguage users mean
    ("SW", "sw"),
    (" sw ", "sw"),
    ("swa", "sw"),
    ("sw-ke", "sw-KE"),
    ("sw_KE", "sw-KE"),
    ("swh-KE", "sw-KE"),
    ("zul", "zu"),
    ("sn-zw", "sn-ZW"),
    ("yor", "yo"),
    ("am", "am"),
    ("ha-Latn-NG", "ha-Latn-NG"),
    ("luo", "luo"),           # no two-letter code: the three-letter one stays
    ("kik", "ki"),
])
def test_normalise(raw, normal):
    assert normalise_tag(raw) == normal


def test_normalising_is_idempotent():
    for raw in ("swh", "sw-ke", "zul", "sn-zw", "luo"):
        once = normalise_tag(raw)
        assert normalise_tag(once) == once


@pytest.mark.parametrize("bad", ["", "   ", "und", "xx-123-yy-!!", "sw--KE", "12", "english language"])
def test_invalid_tags_are_refused_with_advice(bad):
    with pytest.raises(LanguageTagError) as err:
        normalise_tag(bad)
    message = str(err.value)
    assert "BCP-47" in message and "'sw'" in message


def test_a_language_name_gets_a_hint():
    with pytest.raises(LanguageTagError, match="did you mean 'sw'"):
        normalise_tag("Swahili")


def test_non_text_is_refused():
    with pytest.raises(LanguageTagError, match="empty"):
        normalise_tag(None)  # type: ignore[arg-type]


def test_language_tag_error_is_a_value_error():
    assert issubclass(LanguageTagError, ValueError)


@pytest.mark.parametrize("tag, code", [("swh-KE", "sw"), ("zul", "zu"), ("luo", "luo")])
def test_iso639(tag, code):
    assert iso639(tag) == code


def test_display_name():
    assert display_name("sw") == "Swahili"
    assert display_name("sw", "fr") == "swahili"
    assert display_name("not a tag!!") == "not a tag!!"


@pytest.mark.parametrize("bad", ["sw\x00", "\x00", "sw\x1b", "s\u202ew"])
def test_control_characters_in_a_tag_are_refused_not_crashed_on(bad):
    with pytest.raises(LanguageTagError, match="not a valid BCP-47"):
        normalise_tag(bad)
