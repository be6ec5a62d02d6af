"""The organiser's answers file: what the records cannot say, in YAML or Markdown.

YAML: one flat mapping, `key: answer`. Markdown: one `## key` heading per answer, the answer
below it. `jamii release --template` writes either form with every key, the question as a
comment, and what the records already say beside it.

The file is read defensively, since every bad file must end in one clear AnswersError: UTF-8
only, at most MAX_BYTES, no YAML anchors or aliases (an answers file needs none, and a few
kilobytes of nested aliases expand to gigabytes: the "billion laughs"), no tags beyond YAML's
plain scalars, every answer a text (a scalar is read as written: `yes` stays "yes", `1.0`
stays "1.0"), and no control characters or direction overrides in an answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from jamii.core import checks
from jamii.datasheets._datasheet import ABOUT, QUESTIONS

MAX_BYTES = 256 * 1024
"""An answers file is a few dozen paragraphs (the template is about 10 KB); 256 KB is far beyond
any real one, and keeps reading any file under a second or two."""
MAX_ANSWER_CHARS = 50_000
_MAX_DEPTH = 3
_NULL = "tag:yaml.org,2002:null"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_HEADING = re.compile(r"^##\s+`?([a-z_]+\.[a-z_]+)`?\s*$", re.MULTILINE)
DEFAULT_NA = {
    "motivation.other": "N/A: no other comments.",
    "composition.other": "N/A: no other comments.",
    "collection.other": "N/A: no other comments.",
    "preprocessing.other": "N/A: no other comments.",
    "uses.other": "N/A: no other comments.",
    "distribution.other": "N/A: no other comments.",
    "maintenance.other": "N/A: no other comments.",
}


class AnswersError(ValueError):
    pass


class _Refused(yaml.YAMLError):
    """Raised while composing: the file uses something an answers file never needs."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases, without deep nesting, and with scalars kept as written.

    Aliases are refused as they are met, before anything is expanded, so an alias bomb costs
    nothing. Of YAML's implicit types only null is kept: `yes`, `1.0` or `2024-01-01` are
    answers written by a person and stay the text they typed. A key given twice is refused
    rather than silently keeping the last.
    """

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag == _NULL]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            raise _Refused(f"line {line} uses the YAML alias *{event.anchor}: write each answer "
                           "out in full (answers files take no anchors or aliases)")
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise _Refused(f"line {line} defines the YAML anchor &{event.anchor}: write each "
                           "answer out in full (answers files take no anchors or aliases)")
        if isinstance(event, CollectionStartEvent):
            self._depth += 1
            if self._depth > _MAX_DEPTH:
                raise _Refused(f"line {line} nests lists or mappings {self._depth} levels deep: "
                               "write `key: answer`, one answer per key")
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _value in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise _Refused(f"the key {key} is given twice (lines {seen[key]} and "
                               f"{key_node.start_mark.line + 1}): keep one answer per key")
            if key is not None:
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise AnswersError(f"the answers file {path} is {size:,} bytes, over the limit of "
                               f"{MAX_BYTES:,}: an answers file holds a few paragraphs per key")
        data = path.read_bytes()
    except OSError as exc:
        raise AnswersError(f"the answers file {path} cannot be read "
                           f"({exc.strerror or exc}): check the path and its permissions") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4096].count(0) * 4 > len(data[:4096]):
        raise AnswersError(f"the answers file {path} is UTF-16 or binary, not UTF-8 text: "
                           "save it as UTF-8 and run the release again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise AnswersError(f"the answers file {path} is not UTF-8 text (byte "
                           f"0x{data[exc.start]:02x} on line {line} is not UTF-8): save it as "
                           "UTF-8 and run the release again") from None
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise AnswersError(f"the answers file {path} has an invisible control character "
                           f"(U+{ord(bad.group()):04X}) on line {line}: delete it; only line "
                           "breaks and tabs belong in an answers file")
    return text


def _answer(path: Path, key: str, value) -> str:
    """One answer as text, or AnswersError naming the key."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, set, tuple)):
        what = "a mapping" if isinstance(value, dict) else "a list"
        raise AnswersError(f"the answers file {path}: the answer to {key} is {what}; write it as "
                           "text (a paragraph, or a YAML block `|` for several lines)")
    if isinstance(value, (bytes, bytearray)):
        raise AnswersError(f"the answers file {path}: the answer to {key} is binary data; write "
                           "it as text")
    text = str(value).strip()
    found = [p for p in checks.check_text(key, text, required=False, max_chars=MAX_ANSWER_CHARS)
             if p.code in ("control_chars", "invalid_utf8", "bidi_controls", "too_long")]
    if found:
        raise AnswersError(f"the answers file {path}: the answer to {key}: {found[0].message}")
    return text


def load(path: str | Path | None) -> dict[str, str]:
    """The answers in the file at `path` by key, or AnswersError saying what to fix."""
    if path is None:
        return {}
    path = Path(path)
    if not path.exists():
        raise AnswersError(f"the answers file {path} does not exist: write one with "
                           "`jamii release --campaign C --template --answers FILE`")
    if not path.is_file():
        raise AnswersError(f"the answers file {path} is a folder, not a file: give the file")
    text = _read_text(path)
    if path.suffix.lower() in (".md", ".markdown"):
        data = _parse_markdown(text)
    else:
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except _Refused as exc:
            raise AnswersError(f"the answers file {path} is refused: {exc}") from None
        except yaml.YAMLError as exc:
            raise AnswersError(f"the answers file {path} is not valid YAML: {exc}") from None
        except RecursionError:
            raise AnswersError(f"the answers file {path} nests too deeply: write `key: answer`, "
                               "one answer per key") from None
        if data is None or data == "":
            data = {}
        if not isinstance(data, dict):
            raise AnswersError(f"the answers file {path} must be a mapping of `key: answer`, "
                               f"one per line, not {_what(data)}")
    known = {k for k, _ in QUESTIONS} | {k for k, _, _ in ABOUT}
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        shown = [checks.normalise_text(u)[:60] for u in unknown[:10]]
        raise AnswersError(f"the answers file {path} has unknown keys {shown}: "
                           "use the keys `jamii release --template` writes")
    return {str(k): _answer(path, str(k), v) for k, v in data.items()}


def _what(value) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a single text"
    return f"a {type(value).__name__}"


def _parse_markdown(text: str) -> dict[str, str]:
    out = {}
    marks = list(_HEADING.finditer(text))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end():end]
        body = "\n".join(line for line in body.splitlines() if not line.startswith(">"))
        out[m.group(1)] = body.strip()
    return out


def template(recorded: dict[str, str], *, markdown: bool, campaign: str,
             defaults: dict[str, str] | None = None) -> str:
    """Every key with its question, the records' answer shown beside it, the rest to fill in."""
    defaults = {**DEFAULT_NA, **(defaults or {})}
    entries = [(k, what, "required" if req else "optional") for k, what, req in ABOUT]
    entries += [(k, q, "from the records" if k in recorded else "required") for k, q in QUESTIONS]
    lines = []
    if markdown:
        lines += [f"# Answers for `jamii release` of campaign {campaign}", "",
                  "Write each answer under its heading, or `N/A: <reason>`. Lines starting with",
                  "`>` are help and are ignored. Questions marked 'from the records' are already",
                  "answered; anything you write there is added as a note.", ""]
        for key, question, status in entries:
            lines += [f"## {key}", "", f"> {question} ({status})"]
            if key in recorded:
                lines.append(f"> The records say: {recorded[key]}")
            lines += ["", defaults.get(key, "" if key in recorded or status == "optional" else "TODO"), ""]
        return "\n".join(lines)
    lines += [f"# Answers for `jamii release` of campaign {campaign}.",
              "# Replace every TODO with an answer or 'N/A: <reason>'. Questions marked 'from the",
              "# records' are already answered; anything you write there is added as a note.", ""]
    for key, question, status in entries:
        lines.append(f"# {question} ({status})")
        if key in recorded:
            lines.append(f"# The records say: {recorded[key]}")
        value = defaults.get(key, "" if key in recorded or status == "optional" else "TODO")
        lines.append(yaml.safe_dump({key: value}, allow_unicode=True, width=100).rstrip())
        lines.append("")
    return "\n".join(lines)
