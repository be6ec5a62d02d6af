"""The row checks shared by the collector, `jamii import` and releases, on real libraries."""

from __future__ import annotations

import io
import unicodedata

import numpy as np
import pytest
import soundfile

from jamii.core import checks
from jamii.core.checks import (
    Problem,
    audio_problems,
    check_text,
    detect_language,
    find_pii,
    inspect_audio,
    language_problems,
    normalise_text,
    pii_problems,
)


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def only(problems: list[Problem], code: str) -> Problem:
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, f"expected one {code!r} problem, got {problems}"
    return found[0]


# --------------------------------------------------------------------------- normalisation


def test_nfd_yoruba_becomes_nfc_and_is_otherwise_unchanged():
    nfd = unicodedata.normalize("NFD", "ọmọ")
    assert len(nfd) == 5  # o + dot below, m, o + dot below
    out = normalise_text(f"  {nfd} mi\n\tń lọ  ")
    assert out == "ọmọ mi\n\tń lọ"
    assert unicodedata.is_normalized("NFC", out)


def test_normalise_keeps_case_punctuation_and_internal_spacing():
    text = "Je,  UNAJUA?  «Ndiyo» — 'sawa'…"
    assert normalise_text(text) == text


def test_windows_line_endings_become_newlines():
    assert normalise_text("mstari 1\r\nmstari 2\rmstari 3") == "mstari 1\nmstari 2\nmstari 3"


def test_normalise_refuses_non_text():
    with pytest.raises(TypeError):
        normalise_text(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- check_text


@pytest.mark.parametrize(
    "text",
    [
        "Wakulima wengi hupanda mahindi na maharage wakati wa msimu wa mvua.",
        "ብዙ ገበሬዎች በዝናብ ወቅት በቆሎ እና ባቄላ ይዘራሉ።",  # Ge'ez (Amharic)
        "يزرع معظم المزارعين الذرة خلال موسم الأمطار.",  # Arabic, right to left
        "Àwọn àgbẹ̀ máa ń gbin àgbàdo.",  # Yoruba with tone marks
        "Mstari wa kwanza\n\tmstari wa pili",  # newlines and tabs are content
        "Kama a < b na b > c, basi a < c.",  # comparison signs are not markup
        "Mwambie <jina> kwamba mbegu zimefika.",  # placeholder, not an HTML element
        "العربية\u200fmark and zero\u200dwidth joiner",  # format characters scripts need
    ],
)
def test_ordinary_text_in_many_scripts_passes(text):
    assert check_text("prompt", text) == []


@pytest.mark.parametrize("value", ["", "   ", "\n\t  \n"])
def test_empty_and_whitespace_only_are_refused(value):
    problem = only(check_text("prompt", value), "empty")
    assert problem.blocking
    assert problem.field == "prompt"
    assert "write the prompt" in problem.message


def test_empty_optional_field_is_fine():
    assert check_text("prompt_text", "  ", required=False) == []
    assert check_text("prompt_text", None, required=False) == []


def test_missing_value_is_refused_when_required():
    problem = only(check_text("response", None), "empty")
    assert problem.blocking and "response" in problem.message


def test_nan_from_an_empty_csv_cell_counts_as_missing():
    assert codes(check_text("response", float("nan"))) == ["empty"]
    assert check_text("response", float("nan"), required=False) == []


@pytest.mark.parametrize(
    "value, shown", [(2024, "number"), (3.5, "number"), (["a"], "list"), (True, "true/false")]
)
def test_wrong_types_are_refused_with_what_was_found(value, shown):
    problem = only(check_text("prompt", value), "wrong_type")
    assert problem.blocking
    assert shown in problem.message
    assert "as text" in problem.message


def test_bytes_are_refused_with_a_decoding_hint():
    problem = only(check_text("prompt", "habari".encode()), "wrong_type")
    assert "UTF-8" in problem.message


def test_a_one_megabyte_field_is_refused_with_length_and_limit():
    problems = check_text("response", "a" * 1_000_000)
    problem = only(problems, "too_long")
    assert problem.blocking
    assert "1,000,000" in problem.message and "20,000" in problem.message
    assert "shorten" in problem.message
    assert problem.params == {"length": 1_000_000, "limit": 20_000}


def test_limit_can_be_set_per_field():
    assert check_text("persona", "x" * 50, max_chars=50) == []
    assert codes(check_text("persona", "x" * 51, max_chars=50)) == ["too_long"]


def test_invalid_utf8_decoded_with_replace_is_refused():
    raw = "Habari ya asubuhi".encode() + b"\xff\xfe" + " rafiki".encode()
    problem = only(check_text("prompt", raw.decode("utf-8", errors="replace")), "invalid_utf8")
    assert problem.blocking
    assert "character 18" in problem.message
    assert "UTF-8" in problem.message


def test_lone_surrogate_is_refused():
    text = b"bad \xed\xa0\x80 byte".decode("utf-8", errors="surrogateescape")
    assert codes(check_text("prompt", text)) == ["invalid_utf8"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"])
def test_control_characters_are_refused_with_their_position(char):
    problem = only(check_text("question", f"Habari{char} yako"), "control_chars")
    assert problem.blocking and problem.field == "question"
    assert "character 7" in problem.message
    assert "delete" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script> Habari",
        "Hii ni <b>muhimu</b> sana",
        "Bonyeza <a href='http://x'>hapa</a>",
        "Picha <img src=x onerror=alert(1)>",
        "maoni <!-- siri -->",
        "<DIV class='x'>Habari</DIV>",
        "mstari<br/>mpya",
    ],
)
def test_html_and_script_tags_are_refused(text):
    problem = only(check_text("response", text), "markup")
    assert problem.blocking
    assert "remove the tags" in problem.message


def test_several_problems_are_reported_together():
    problems = check_text("prompt", "x\x07<b>y</b>\ufffd", max_chars=5)
    assert set(codes(problems)) == {"too_long", "control_chars", "markup", "invalid_utf8"}
    assert all(p.blocking for p in problems)


# --------------------------------------------------------------------------- personal data


@pytest.mark.parametrize(
    "text, found",
    [
        ("Nipigie kwa +255 712 345 678 kesho.", "+255 712 345 678"),
        ("Namba yangu ni 0712 345 678.", "0712 345 678"),
        ("Call me on +263 77 123 4567 please", "+263 77 123 4567"),
        ("Mpigie 080 3123 4567 leo", "080 3123 4567"),
        ("Simu: 0712-345-678", "0712-345-678"),
        ("WhatsApp +254712345678", "+254712345678"),
        ("Appelez le +33 6 12 34 56 78", "+33 6 12 34 56 78"),
    ],
)
def test_phone_numbers_are_found(text, found):
    hits = find_pii(text)
    assert [(h.kind, h.text) for h in hits] == [("phone", found)]
    assert text[hits[0].start:hits[0].end] == found


def test_a_region_only_a_campaign_knows_is_used():
    # An Angolan mobile in national format parses only with region AO, which is not a default.
    assert find_pii("Ligue para 923 123 456") == []
    assert [h.text for h in find_pii("Ligue para 923 123 456", regions=["ao"])] == ["923 123 456"]


@pytest.mark.parametrize(
    "text, found",
    [
        ("Andika kwa juma.mwangi@example.co.ke.", "juma.mwangi@example.co.ke"),
        ("mail: Amina_O+farm@kilimo.org", "Amina_O+farm@kilimo.org"),
    ],
)
def test_emails_are_found(text, found):
    assert [(h.kind, h.text) for h in find_pii(text)] == [("email", found)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("Kitambulisho changu ni 12345678", "12345678"),
        ("NIDA 19900101-12345-00001-12", "19900101-12345-00001-12"),
        ("kadi 4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("Akaunti 0123456789012 benki", "0123456789012"),
        ("National ID 63-123456 A 78", "63-123456 A 78"),
    ],
)
def test_id_like_digit_runs_are_found(text, found):
    assert [(h.kind, h.text) for h in find_pii(text)] == [("id_number", found)]


@pytest.mark.parametrize(
    "text",
    [
        "Nunua 2 kg za unga",
        "mwaka 2024 mvua ilinyesha sana",
        "50% ya wakulima walivuna",
        "Bei ni shilingi 250000 kwa gunia",
        "watu 25 000 000 wanaishi hapa",
        "Idadi ni 1,000,000",
        "tarehe 2024-05-12 saa 10:30",
        "tarehe 12/05/2024",
        "kuanzia 2020-2024",
        "pi ni 3.14159265358",
        "alama 10 20 30 40 50",
        "email@ peke yake si anwani",
        "",
    ],
)
def test_ordinary_numbers_are_not_flagged(text):
    assert find_pii(text) == []


def test_pii_problems_warn_once_per_kind_and_quote_what_was_found():
    text = "Nipigie +255 712 345 678 au 0712 345 679, au juma@kilimo.org"
    problems = pii_problems("response", text)
    assert {p.code for p in problems} == {"pii_phone", "pii_email"}
    assert not any(p.blocking for p in problems)
    phone = only(problems, "pii_phone")
    assert phone.field == "response"
    assert "2 phone numbers" in phone.message and "+255 712 345 678" in phone.message
    assert "remove it" in phone.message
    assert "juma@kilimo.org" in only(problems, "pii_email").message


def test_clean_text_has_no_pii_problems():
    assert pii_problems("prompt", "Wakulima 30 walivuna gunia 12 mwaka 2023.") == []


# --------------------------------------------------------------------------- language

SWAHILI = "Wakulima wengi hupanda mahindi na maharage wakati wa msimu wa mvua ndefu."
ENGLISH = "Most farmers plant maize and beans during the long rainy season."


def test_lingua_knows_our_main_languages():
    known = checks.lingua_languages()
    assert {"sw", "sn", "yo", "zu", "xh", "so", "ar", "lg", "en", "fr"} <= known
    assert not {"am", "ha", "ig", "rw"} & known


def test_a_swahili_sentence_passes_as_swahili():
    guess = detect_language(SWAHILI, "sw")
    assert guess is not None and guess.tag == "sw" and guess.confidence > 0.9
    assert language_problems("prompt", SWAHILI, "sw") == []
    # Regional and individual-language tags mean the same language.
    assert language_problems("prompt", SWAHILI, "sw-KE") == []
    assert language_problems("prompt", SWAHILI, "swh") == []


def test_an_english_sentence_labelled_swahili_warns():
    problem = only(language_problems("prompt", ENGLISH, "sw"), "wrong_language")
    assert not problem.blocking
    assert problem.field == "prompt"
    assert "English" in problem.message and "Swahili" in problem.message
    assert problem.params["detected"] == "en"


@pytest.mark.parametrize(
    "tag, text",
    [
        ("sn", "Varimi vazhinji vanodyara chibage nemanyemba mumwaka wemvura."),
        ("yo", "Àwọn àgbẹ̀ máa ń gbin àgbàdo àti ẹ̀wà ní àsìkò òjò."),
        ("zu", "Abalimi abaningi batshala ummbila nobhontshisi ngesikhathi semvula."),
        ("ar", "يزرع معظم المزارعين الذرة والفاصوليا خلال موسم الأمطار الطويل."),
    ],
)
def test_other_supported_languages_pass(tag, text):
    assert detect_language(text, tag).tag == tag
    assert language_problems("question", text, tag) == []


def test_code_switched_swahili_is_not_flagged():
    sheng = "Nimeenda town kununua airtime na bundles za data."
    assert language_problems("prompt", sheng, "sw") == []


def test_a_language_lingua_does_not_know_cannot_be_judged():
    amharic = "ብዙ ገበሬዎች በዝናብ ወቅት በቆሎ እና ባቄላ ይዘራሉ። ዝናቡ ዘንድሮ ዘግይቷል።"
    assert detect_language(amharic, "am") is None
    assert detect_language(ENGLISH, "ha") is None  # even obvious English: nothing to compare with
    assert language_problems("prompt", amharic, "am") == []


def test_short_text_and_bad_tags_cannot_be_judged():
    assert detect_language("Habari yako?", "sw") is None
    assert detect_language("12345 67890 12345 67890 12345", "sw") is None
    assert detect_language(SWAHILI, "not a tag!") is None
    assert language_problems("prompt", "Hello there", "sw") == []


# --------------------------------------------------------------------------- audio


def wav(seconds: float, *, rate: int = 16_000, silent: bool = False, channels: int = 1) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    signal = np.zeros_like(t) if silent else 0.3 * np.sin(2 * np.pi * 440 * t)
    if channels > 1:
        signal = np.stack([signal] * channels, axis=1)
    buf = io.BytesIO()
    soundfile.write(buf, signal, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_a_two_second_tone_passes():
    data = wav(2.0)
    info = inspect_audio(data)
    assert info.duration_s == pytest.approx(2.0)
    assert info.sample_rate == 16_000 and info.channels == 1
    assert info.rms_dbfs == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.1)
    assert audio_problems(data) == []


def test_stereo_flac_is_read_too():
    t = np.arange(2 * 44_100) / 44_100
    buf = io.BytesIO()
    stereo = np.stack([0.2 * np.sin(2 * np.pi * 220 * t)] * 2, axis=1)
    soundfile.write(buf, stereo, 44_100, format="FLAC")
    info = inspect_audio(buf.getvalue())
    assert (info.channels, info.sample_rate) == (2, 44_100)
    assert audio_problems(buf.getvalue()) == []


def test_half_a_second_is_too_short():
    problem = only(audio_problems(wav(0.5)), "audio_too_short")
    assert problem.blocking and problem.field == "audio"
    assert "0.5 s" in problem.message and "record again" in problem.message


def test_thirty_one_seconds_is_too_long():
    problem = only(audio_problems(wav(31.0, rate=8_000)), "audio_too_long")
    assert problem.blocking
    assert "31.0 s" in problem.message and "30 s" in problem.message


def test_two_seconds_of_zeros_is_silent():
    data = wav(2.0, silent=True)
    assert inspect_audio(data).rms_dbfs == pytest.approx(-200.0)
    problem = only(audio_problems(data), "audio_silent")
    assert problem.blocking
    assert "microphone" in problem.message


@pytest.mark.parametrize("data", [np.random.default_rng(0).bytes(4096), b"", "not bytes".encode()])
def test_undecodable_bytes_are_refused(data):
    problem = only(audio_problems(data), "audio_unreadable")
    assert problem.blocking
    assert "record" in problem.message
    with pytest.raises(ValueError):
        inspect_audio(data)


def test_limits_are_adjustable():
    assert codes(audio_problems(wav(2.0), min_s=3.0)) == ["audio_too_short"]
    assert audio_problems(wav(0.5), min_s=0.2) == []


@pytest.mark.parametrize("text", [
    "Piga +255 712 345 678", "amina@example.org", "ID 63-123456 A 78",
    "akaunti 12345678", "0712 345 678",
])
def test_the_cheap_prefilter_never_hides_a_hit(text):
    assert checks.find_pii(text)
    assert checks.might_hold_pii(text)


def test_the_cheap_prefilter_skips_plain_text():
    assert not checks.might_hold_pii("Panda mahindi mwanzoni mwa mvua za masika, 2 kg kwa ekari.")
