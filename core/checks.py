"""How one field of one row is judged: the same way in the collector, `jamii import` and releases.

Every check returns `Problem`s instead of raising, so a form can show all of them at once and an
import can report every rejected row with its reasons. A blocking problem means the value must
not be stored; a non-blocking one (possible personal data, a text that looks like another
language) is shown and the contributor confirms. Messages are plain English sentences that say
what to fix; the collector translates them by `code`, with the numbers it needs in `params`.

Nothing here touches Streamlit or the store. The lingua detector is built once, lazily, because
loading its models is the only slow step.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import langcodes
import numpy as np
import phonenumbers
import regex
import soundfile

__all__ = [
    "AudioInfo",
    "LanguageGuess",
    "PiiHit",
    "Problem",
    "audio_problems",
    "check_label",
    "check_text",
    "detect_language",
    "find_pii",
    "inspect_audio",
    "language_problems",
    "lingua_languages",
    "normalise_text",
    "pii_problems",
    "pii_view",
]

MAX_CHARS = 20_000
MAX_LABEL_CHARS = 200
"""Short one-line texts (dialect, domain, names, rubric criterion names, profile answers)."""
MIN_LANGUAGE_CHARS = 20
"""Below this many letters lingua's guesses are close to chance, so we do not judge."""
LANGUAGE_CONFIDENCE = 0.8
"""How sure lingua must be that a text is another language before we warn.

Tuned on farming and health sentences in sw, sn, yo, zu, en and fr: in low-accuracy mode lingua
gives well-formed sentences 0.99 or more for their true language, while short or code-switched
Swahili (Sheng) spreads its confidence over several Bantu languages and stays below this.
"""
DEFAULT_PII_REGIONS = (
    "KE", "TZ", "UG", "ZW", "NG", "ET", "ZA", "GH", "RW", "CD", "US", "GB", "FR", "IN",
    "BI", "SS", "SO", "MW", "ZM", "MZ", "CM", "SN", "CI", "EG", "MA", "SD", "BW",
)
"""Where our communities' phones come from: national formats (`0712 345 678`) need a region."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field, worded so that the person who can fix it knows how."""

    field: str
    """Which field, e.g. "prompt" or "reference_answers[2]"."""
    code: str
    """Stable machine code, e.g. "empty", "too_long"; the collector translates by this."""
    message: str
    """A plain-English sentence saying what to fix."""
    blocking: bool
    """True: the value is refused; False: warn and ask the contributor to confirm."""
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The numbers and snippets the message quotes (length, limit, position...), for translators."""


@dataclass(frozen=True)
class PiiHit:
    """A stretch of text that looks like personal data."""

    kind: str
    """"email", "phone" or "id_number"."""
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class LanguageGuess:
    """lingua's best guess for a text, judged against the language the row claims."""

    tag: str
    """BCP-47 tag of the most likely language, e.g. "sw"."""
    confidence: float
    """lingua's relative confidence in `tag`, 0 to 1."""
    expected_confidence: float = 0.0
    """lingua's confidence in the language the row claims to be in."""


@dataclass(frozen=True)
class AudioInfo:
    """What a recording is, read from its bytes rather than trusted from the browser."""

    duration_s: float
    sample_rate: int
    channels: int
    rms_dbfs: float
    """Loudness of the whole clip; digital silence is floored at -200 to stay a finite number."""


# --------------------------------------------------------------------------- text


def normalise_text(value: str) -> str:
    """Put text in the one form we store, without changing what the contributor wrote.

    NFC makes "ọmọ" typed with combining marks and "ọmọ" typed precomposed compare, hash and
    score as the same string. Windows line endings become "\\n" so a CSV from Excel and a form
    entry of the same text are equal. Nothing else is touched: no case folding, no quote or
    space tidying inside the text.
    """
    if not isinstance(value, str):
        raise TypeError(f"normalise_text expects a str, got {type(value).__name__}")
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


# C0 and C1 controls (and DEL) other than tab and newline; \r is folded into \n by normalise_text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# U+FFFD is what bad UTF-8 decodes to with errors="replace"; lone surrogates are what
# errors="surrogateescape" or a broken JSON "\ud800" leave, and cannot be written as UTF-8.
_INVALID_RE = re.compile(r"[\ufffd\ud800-\udfff]")
_HTML_TAGS = (
    "a abbr address area article aside audio b base bdi bdo blockquote body br button canvas "
    "caption center cite code col colgroup data datalist dd del details dfn dialog div dl dt em "
    "embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head "
    "header hr html i iframe img input ins kbd label legend li link main map mark marquee math "
    "menu meta meter nav noscript object ol optgroup option output p param picture pre progress "
    "q rp rt ruby s samp script section select slot small source span strike strong style sub "
    "summary sup svg table tbody td template textarea tfoot th thead time title tr track tt u "
    "ul var video wbr xml"
)
# Only real HTML element names count, so "<jina>" placeholders and "a < b > c" stay content.
_MARKUP_RE = re.compile(
    r"</?(?:" + "|".join(sorted(_HTML_TAGS.split(), key=len, reverse=True)) + r")(?=[\s/>])[^<>]*>"
    r"|<!--|<!\[CDATA\[|<\?(?:php|xml)\b",
    re.IGNORECASE,
)


# A character a reader can see: not a space, not a control or format character, not one of
# Unicode's default-ignorable code points (zero-width space, the Hangul fillers U+3164,
# U+115F, U+1160, U+FFA0...), and not the blank Braille pattern U+2800 that renders as nothing.
_VISIBLE_RE = regex.compile(
    r"[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\u2800]"
)
# Embedding, override and isolate controls make a reader see text in another order than it is
# stored. The marks LRM, RLM and ALM (U+200E, U+200F, U+061C) only nudge neutral characters
# and are part of ordinary right-to-left writing, so they stay allowed, as do ZWJ and ZWNJ.
_BIDI_OVERRIDE_RE = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def _label(field_name: str) -> str:
    return field_name.replace("_", " ")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, (bytes, bytearray)):
        return "raw bytes"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a value of type {type(value).__name__}"


def _is_missing(value: Any) -> bool:
    """None and NaN both mean "no value": pandas reads an empty CSV cell as NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_text(
    field: str, value: Any, *, required: bool = True, max_chars: int = MAX_CHARS
) -> list[Problem]:
    """Judge a text field as it will be stored (after `normalise_text`).

    All problems are reported together, except that a value which is not text at all, or is
    empty, stops the checks: nothing else about it is meaningful.
    """
    name = _label(field)
    if _is_missing(value):
        if not required:
            return []
        message = f"The {name} is empty: write the {name} before submitting."
        return [Problem(field, "empty", message, True)]
    if not isinstance(value, str):
        hint = " Decode the file as UTF-8 first." if isinstance(value, (bytes, bytearray)) else (
            " If it is a number, put it in quotes in the file so it is read as text."
            if isinstance(value, (int, float)) else ""
        )
        return [
            Problem(
                field, "wrong_type",
                f"The {name} must be text, but it is {_type_name(value)}: "
                f"give the {name} as text.{hint}",
                True, {"type": type(value).__name__},
            )
        ]
    text = normalise_text(value)
    if not text:
        if not required:
            return []
        what = "empty" if not value else "only spaces"
        message = f"The {name} is {what}: write the {name} before submitting."
        return [Problem(field, "empty", message, True)]
    if not _VISIBLE_RE.search(text):
        # stored, it would show as a blank item, and "strip()" does not remove these
        return [
            Problem(
                field, "invisible",
                f"The {name} has no visible character (only invisible or blank characters such "
                f"as zero-width spaces): write the {name} in words.",
                True,
            )
        ]

    problems: list[Problem] = []
    if len(text) > max_chars:
        problems.append(
            Problem(
                field, "too_long",
                f"The {name} is {len(text):,} characters long, over the limit of {max_chars:,}: "
                f"shorten it or split it into several items.",
                True, {"length": len(text), "limit": max_chars},
            )
        )
    bad = _INVALID_RE.search(text)
    if bad:
        count = len(_INVALID_RE.findall(text))
        problems.append(
            Problem(
                field, "invalid_utf8",
                f"The {name} contains {count} unreadable character(s) (first at character "
                f"{bad.start() + 1}), usually because the file was not saved as UTF-8: "
                f"re-save it as UTF-8, or retype the damaged words.",
                True, {"position": bad.start() + 1, "count": count},
            )
        )
    ctrl = _CONTROL_RE.search(text)
    if ctrl:
        count = len(_CONTROL_RE.findall(text))
        char = f"U+{ord(ctrl.group()):04X}"
        problems.append(
            Problem(
                field, "control_chars",
                f"The {name} contains {count} invisible control character(s) (first {char} "
                f"at character {ctrl.start() + 1}): delete them; only line breaks and tabs "
                f"are allowed.",
                True, {"position": ctrl.start() + 1, "count": count, "char": char},
            )
        )
    bidi = _BIDI_OVERRIDE_RE.search(text)
    if bidi:
        char = f"U+{ord(bidi.group()):04X}"
        problems.append(
            Problem(
                field, "bidi_controls",
                f"The {name} contains a direction override or isolate control ({char} at "
                f"character {bidi.start() + 1}), which shows readers the text in another order "
                f"than it is stored: delete it and type the text in its natural order.",
                True, {"position": bidi.start() + 1, "char": char},
            )
        )
    markup = _MARKUP_RE.search(text)
    if markup:
        snippet = markup.group()[:40]
        problems.append(
            Problem(
                field, "markup",
                f"The {name} contains HTML markup ({snippet!r} at character {markup.start() + 1}): "
                f"remove the tags and keep only the words; formatting code is not part of an item.",
                True, {"position": markup.start() + 1, "markup": snippet},
            )
        )
    return problems


def check_label(field: str, value: Any, *, required: bool = False,
                max_chars: int = MAX_LABEL_CHARS) -> list[Problem]:
    """Judge a short one-line text: a dialect, domain, name, rubric criterion or profile answer.

    The rules of `check_text` (visible, no controls, no direction overrides, no markup), plus a
    short limit and no line breaks: these texts are shown as labels and table cells.
    """
    problems = check_text(field, value, required=required, max_chars=max_chars)
    if isinstance(value, str) and not problems and ("\n" in value.strip() or "\r" in value.strip()
                                                   or "\t" in value):
        name = _label(field)
        problems.append(
            Problem(field, "multiline", f"The {name} must be one line: remove the line breaks "
                    f"and tabs.", True)
        )
    return problems


def check_public_label(field: str, value: Any, *, required: bool = False,
                       max_chars: int = MAX_LABEL_CHARS) -> list[Problem]:
    """`check_label` for a label every release prints beside the data (a pseudonym, a rate
    unit): personal data in it is refused outright, not only warned about, since nothing
    reviews it and a rate card, once stored, is never edited."""
    problems = check_label(field, value, required=required, max_chars=max_chars)
    if problems or not isinstance(value, str):
        return problems
    return [Problem(field, p.code, f"The {_label(field)} is published with every release, so it "
                    f"may not hold an email address, phone or id number: choose another.", True)
            for p in pii_problems(field, value)]


# --------------------------------------------------------------------------- personal data

# Local part: the dot-atom characters of RFC 5322 (no quoted forms, which people do not type);
# domain: labels of letters/digits/hyphens (any script), a final label of 2+ letters.
_EMAIL_RE = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])"
)
# Digits in groups joined by one space, hyphen or no-break space: ids, account and card numbers.
# Digits in groups joined by one space, hyphen, dash, underscore or no-break space.
_DIGIT_SEPARATORS = " \u00a0\u202f_\u2010-\u2015\u2212-"
_DIGIT_RUN_RE = re.compile(rf"(?<![\w.,/])\d+(?:[{_DIGIT_SEPARATORS}]\d+)*(?![^\W_]|[.,/]\d)")
# Zimbabwean national ids carry a check letter: 63-123456 A 78.
_ZW_ID_RE = re.compile(r"(?<![\w-])\d{2}-?\d{6,7}\s?[A-Za-z]\s?-?\d{2}(?![\w-])")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+")
_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{4}")
_MIN_ID_DIGITS = 8


def _looks_like_id(run: str) -> bool:
    """Keep long digit runs that are not amounts, dates, years or lists of small numbers."""
    groups = re.split(f"[{_DIGIT_SEPARATORS}]", run)
    if sum(len(g) for g in groups) < _MIN_ID_DIGITS:
        return False
    if max(len(g) for g in groups) < 3:  # "10 20 30 40": a list, not one number
        return False
    if _THOUSANDS_RE.fullmatch(run) or _DATE_RE.fullmatch(run):  # "25 000 000", "2024-05-12"
        return False
    if len(groups) > 1 and all(len(g) == 4 and 1800 <= int(g) <= 2199 for g in groups):
        return False  # years: "2020-2024"
    return True


def _inside_number(text: str, start: int, end: int) -> bool:
    """True when a match is the head or tail of a bigger number: the decimals of 3.14159265358."""
    before = text[max(0, start - 2):start]
    after = text[end:end + 2]
    return bool(re.fullmatch(r"\d[.,]", before) or re.match(r"[.,]\d", after))


def _phone_hits(text: str, regions: Iterable[str]) -> list[PiiHit]:
    # no numbering plan has numbers shorter than 7 digits worth flagging; most texts stop here,
    # which spares them dozens of matcher passes
    if sum(ch.isdigit() for ch in text) < 7:
        return []
    seen: dict[tuple[int, int], PiiHit] = {}
    matchers = [phonenumbers.PhoneNumberMatcher(text, region) for region in regions]
    # "+"-prefixed numbers from any country, including ranges newer than phonenumbers' metadata.
    matchers.append(
        phonenumbers.PhoneNumberMatcher(text, "ZZ", leniency=phonenumbers.Leniency.POSSIBLE)
    )
    for matcher in matchers:
        for match in matcher:
            raw = match.raw_string
            if _inside_number(text, match.start, match.end):
                continue
            if _THOUSANDS_RE.fullmatch(raw) and raw.endswith("000"):  # "25 000 000" is an amount
                continue
            seen.setdefault((match.start, match.end), PiiHit("phone", match.start, match.end, raw))
    return list(seen.values())


def _overlaps(a: PiiHit, b: PiiHit) -> bool:
    return a.start < b.end and b.start < a.end


def _drop_overlaps(hits: list[PiiHit]) -> list[PiiHit]:
    """Keep the longest of overlapping hits; earlier kinds in the list win ties."""
    kept: list[PiiHit] = []
    for hit in sorted(hits, key=lambda h: -(h.end - h.start)):
        if not any(_overlaps(hit, k) for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


# "amina (at) example [dot] org": the spelled-out at and dot people use to dodge scrapers.
_AT_WORD_RE = re.compile(r"\s*(?:[(\[{<]\s*(?:at|@)\s*[)\]}>])\s*", re.IGNORECASE)
_DOT_WORD_RE = re.compile(r"\s*[(\[{<]\s*(?:dot|\.)\s*[)\]}>]\s*", re.IGNORECASE)
# Format characters (zero-width spaces and joiners, soft hyphens, word joiners, direction
# marks) and other default-ignorable code points draw nothing, so a reader sees through them.
# a dot with a space on one side only ends a sentence ("at 5pm. Then"): not an address
_SPACED_ADDRESS_RE = re.compile(r"[\w.-]+[ \t]*@[ \t]*[\w-]+(?:(?:\.|[ \t]+\.[ \t]+)[\w-]+)+")
_HIDDEN_RE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}]")
# full stops of other scripts that read as a dot in an address ("example。org")
_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# "amina at example dot org" / "amina at example.org": "at" between a name and a domain
# (a written-out "dot", or a lower-case domain: "at school.Then" is a sentence missing a space)
_WORDED_ADDRESS_RE = re.compile(
    r"(?<![\w.-])([\w.+-]+)\s+(?i:at)\s+"
    r"([\w-]+(?:(?:\s+(?i:dot)\s+[\w-]+)+|(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![\w-])))")


def _maybe_worded(view: str) -> bool:
    return " at " in view or " AT " in view or " At " in view


def _unword(m: re.Match) -> str:
    domain = re.sub(r"\s+dot\s+", ".", m.group(2), flags=re.IGNORECASE)
    return f"{m.group(1)}@{domain}"


def pii_view(text: str) -> str:
    """The text as a human reads it, for the personal-data scan only; never stored.

    NFKC folds full-width and other look-alike digits and at signs to plain ones; hidden
    characters are removed ("1234\u00ad5678" reads as 12345678); "(at)" and "[dot]" become
    "@" and ".". Joiners that Indic and Persian spelling needs are removed here too, which is
    harmless on a copy: the stored text keeps them.
    """
    view = unicodedata.normalize("NFKC", text)
    view = _HIDDEN_RE.sub("", view).translate(_STOPS)
    if "(" in view or "[" in view or "{" in view or "<" in view:
        view = _DOT_WORD_RE.sub(".", _AT_WORD_RE.sub("@", view))
    if _maybe_worded(view):  # "amina at example dot org"
        view = _WORDED_ADDRESS_RE.sub(_unword, view)
    if "@" in view:  # "amina @ example . org": the spaces a scraper-dodger adds
        view = _SPACED_ADDRESS_RE.sub(lambda m: re.sub(r"\s+", "", m.group()), view)
    return view


def might_hold_pii(text: str) -> bool:
    """A cheap test that is False only where `find_pii` would surely find nothing.

    Every hit `find_pii` reports needs an at sign or five digits or more in `pii_view(text)`,
    so bulk scans such as a release of a million items can skip most texts at once. ASCII text
    (the common case, tested in C) reads as itself unless it spells an at sign out, in brackets
    or words; any other text is judged on its view, because NFKC turns circled numbers and
    superscript brackets into digits and brackets that `str.isdigit` and a bracket test miss.
    """
    if text.isascii():
        if "@" in text or len(text.encode("ascii").translate(None, _NOT_ASCII_DIGITS)) >= 5:
            return True
        if not (any(o in text for o in "([{<") or _maybe_worded(text)):
            return False
    view = pii_view(text)
    return "@" in view or sum(ch.isdigit() for ch in view) >= 5


_NOT_ASCII_DIGITS = bytes(c for c in range(256) if not 0x30 <= c <= 0x39)


def find_pii(text: str, regions: Iterable[str] = ()) -> list[PiiHit]:
    """Find emails, phone numbers and id-like digit runs, in text order.

    The scan reads `pii_view(text)`, what a human would read, so hits (their text and
    positions) are of that view: "amina\u200b@example.org" is found as "amina@example.org".
    Errs towards flagging: a hit only produces a warning, and an organiser can clear it before
    release, while a missed phone number is published for good.
    """
    if not text or not might_hold_pii(text):
        return []
    return scan_view(pii_view(text), regions)


def scan_view(text: str, regions: Iterable[str] = ()) -> list[PiiHit]:
    """`find_pii` without its cheap pre-test, on a text already through `pii_view`."""
    extra = tuple(r.upper() for r in regions if r)
    ordered_regions = tuple(dict.fromkeys(extra + DEFAULT_PII_REGIONS))
    emails = [PiiHit("email", m.start(), m.end(), m.group()) for m in _EMAIL_RE.finditer(text)]
    # An id with a check letter is more specific than the phone number its digits resemble.
    lettered_ids = [
        PiiHit("id_number", m.start(), m.end(), m.group()) for m in _ZW_ID_RE.finditer(text)
    ]
    taken = emails + lettered_ids
    phones: list[PiiHit] = []
    if sum(ch.isdigit() for ch in text) >= 5:  # no phone number is shorter; skips most texts
        phones = [
            p for p in _phone_hits(text, ordered_regions) if not any(_overlaps(p, t) for t in taken)
        ]
    taken += phones
    ids = [
        PiiHit("id_number", m.start(), m.end(), m.group())
        for m in _DIGIT_RUN_RE.finditer(text)
        if _looks_like_id(m.group())
    ]
    ids = [h for h in ids if not any(_overlaps(h, t) for t in taken)]
    return _drop_overlaps(taken + ids)


_PII_WORDS = {
    "email": ("an email address", "email addresses"),
    "phone": ("a phone number", "phone numbers"),
    "id_number": ("an id or account number", "id or account numbers"),
}


def pii_problems(field: str, text: str, regions: Iterable[str] = ()) -> list[Problem]:
    """Warn once per kind of personal data found, quoting it so the contributor can find it."""
    if not isinstance(text, str):
        return []
    hits = find_pii(text, regions)
    problems = []
    for kind, (one, many) in _PII_WORDS.items():
        found = [h.text for h in hits if h.kind == kind]
        if not found:
            continue
        what = one if len(found) == 1 else f"{len(found)} {many}"
        quoted = ", ".join(repr(f) for f in found[:3]) + (", ..." if len(found) > 3 else "")
        problems.append(
            Problem(
                field, f"pii_{kind}",
                f"The {_label(field)} contains what looks like {what} ({quoted}): remove it or "
                f"replace it with a made-up one, because the dataset will be published; confirm "
                f"only if it is not about a real person.",
                False, {"kind": kind, "found": tuple(found)},
            )
        )
    return problems


# --------------------------------------------------------------------------- language


@cache
def _detector():
    """One detector over every language lingua knows, built on first use.

    Low-accuracy mode loads trigram models only: about half a second on first use instead of
    several seconds, and on sentences of 20 letters or more it separates our languages as well.
    Models load lazily, per language, as texts need them.
    """
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def warm_language_detector() -> None:
    """Build the detector and load the models a first check needs, before anyone submits: on
    a fresh server the first submission otherwise waits some 600 ms for them."""
    _detector().detect_language_of("Habari za asubuhi, mahindi yanahitaji mvua ya kutosha.")


def _base_language(tag: str) -> str | None:
    """The language subtag in its canonical form: "swh" and "sw-KE" are both "sw"."""
    try:
        std = langcodes.standardize_tag(tag.strip().replace("_", "-"), macro=True)
        language = langcodes.Language.get(std).language
    except (langcodes.LanguageTagError, ValueError, AttributeError):
        return None
    return language if language and language != "und" else None


@cache
def _lingua_by_tag() -> dict[str, Any]:
    from lingua import Language

    table = {}
    for language in Language.all():
        tag = _base_language(language.iso_code_639_1.name.lower())
        if tag:
            table[tag] = language
    return table


def lingua_languages() -> frozenset[str]:
    """Language subtags lingua can judge ("sw", "sn", "yo"...); Amharic and Hausa are absent."""
    return frozenset(_lingua_by_tag())


def detect_language(text: str, expected: str) -> LanguageGuess | None:
    """lingua's best guess, or None when it cannot tell us anything useful.

    None means: lingua has no model for the expected language (so any guess would be another
    language by construction), the text is too short, or its script is one lingua has no model
    for (Ge'ez, for instance).
    """
    expected_base = _base_language(expected) if isinstance(expected, str) else None
    table = _lingua_by_tag()
    if expected_base not in table or not isinstance(text, str):
        return None
    text = normalise_text(text)
    if sum(ch.isalpha() for ch in text) < MIN_LANGUAGE_CHARS:
        return None
    values = _detector().compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        return None
    best = values[0]
    best_code = best.language.iso_code_639_1.name.lower()
    best_tag = _base_language(best_code) or best_code
    expected_value = next((v.value for v in values if v.language == table[expected_base]), 0.0)
    return LanguageGuess(best_tag, float(best.value), float(expected_value))


def _language_name(tag: str) -> str:
    try:
        return langcodes.Language.get(tag).display_name("en")
    except Exception:  # noqa: BLE001 - a name is cosmetic; fall back to the tag
        return tag


def language_problems(field: str, text: str, expected_tag: str) -> list[Problem]:
    """Warn when lingua is confident the text is in another language; silence when it cannot judge.

    Never blocking: lingua confuses close relatives (Zulu and Xhosa) and code-switched speech,
    and the contributor knows their language better than a model does.
    """
    guess = detect_language(text, expected_tag)
    if guess is None or guess.confidence < LANGUAGE_CONFIDENCE:
        return []
    if guess.tag == _base_language(expected_tag):
        return []
    found, wanted = _language_name(guess.tag), _language_name(expected_tag)
    return [
        Problem(
            field, "wrong_language",
            f"The {_label(field)} looks like {found}, not {wanted}: write it in {wanted}, or "
            f"choose the right language for this item; confirm if it is {wanted} after all.",
            False,
            {
                "detected": guess.tag,
                "expected": expected_tag,
                "confidence": round(guess.confidence, 3),
            },
        )
    ]


# --------------------------------------------------------------------------- audio

_AUDIO_BLOCK_FRAMES = 65_536


def inspect_audio(data: bytes) -> AudioInfo:
    """Read duration, rate, channels and loudness from the bytes themselves.

    Loudness is accumulated block by block, so an hour-long upload is measured without
    decoding it into memory at once.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise ValueError("The recording is empty: record the clip again.")
    try:
        with soundfile.SoundFile(io.BytesIO(bytes(data))) as f:
            sample_rate, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            total, count = 0.0, 0
            for block in f.blocks(blocksize=_AUDIO_BLOCK_FRAMES, dtype="float32", always_2d=True):
                total += float(np.square(block, dtype=np.float64).sum())
                count += block.size
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(
            "The file could not be read as audio (WAV, FLAC, OGG or MP3 are accepted): "
            f"record the clip again or upload it in one of those formats ({exc})."
        ) from exc
    if sample_rate <= 0:
        raise ValueError("The recording has no sample rate: record the clip again.")
    rms = math.sqrt(total / count) if count else 0.0
    rms_dbfs = 20.0 * math.log10(max(rms, 1e-10))
    return AudioInfo(frames / sample_rate, sample_rate, channels, rms_dbfs)


def audio_problems(
    data: bytes,
    *,
    min_s: float = 1.0,
    max_s: float = 30.0,
    silence_dbfs: float = -50.0,
    field: str = "audio",
) -> list[Problem]:
    """Refuse clips a listener or a speech model could not use; every problem is blocking."""
    try:
        info = inspect_audio(data)
    except ValueError as exc:
        return [Problem(field, "audio_unreadable", str(exc), True)]
    problems = []
    if info.duration_s < min_s:
        problems.append(
            Problem(
                field, "audio_too_short",
                f"The recording lasts {info.duration_s:.1f} s, shorter than {min_s:g} s: "
                f"record again and read the whole sentence.",
                True, {"duration_s": round(info.duration_s, 2), "limit_s": min_s},
            )
        )
    if info.duration_s > max_s:
        problems.append(
            Problem(
                field, "audio_too_long",
                f"The recording lasts {info.duration_s:.1f} s, longer than {max_s:g} s: record a "
                f"shorter clip, or split it into several clips.",
                True, {"duration_s": round(info.duration_s, 2), "limit_s": max_s},
            )
        )
    if info.rms_dbfs < silence_dbfs:
        problems.append(
            Problem(
                field, "audio_silent",
                "The recording is silent or almost silent: check that the microphone is allowed "
                "and not muted, then record again closer to it.",
                True, {"rms_dbfs": round(info.rms_dbfs, 1), "limit_dbfs": silence_dbfs},
            )
        )
    return problems
