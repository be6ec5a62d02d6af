"""The organiser's answers file: what the records cannot say, in YAML or Markdown.

YAML: one flat mapping, `key: answer`. Markdown: one `## key` heading per answer, the answer
below it. `jamii release --template` writes either form with every key, the question as a
comment, and what the records already say beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jamii.datasheets._datasheet import ABOUT, QUESTIONS

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


def load(path: str | Path | None) -> dict[str, str]:
    if path is None:
        return {}
    path = Path(path)
    if not path.exists():
        raise AnswersError(f"the answers file {path} does not exist: write one with "
                           "`jamii release --campaign C --template --answers FILE`")
    text = path.read_text("utf-8")
    if path.suffix.lower() in (".md", ".markdown"):
        return _parse_markdown(text)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise AnswersError(f"the answers file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise AnswersError(f"the answers file {path} must be a mapping of `key: answer`")
    known = {k for k, _ in QUESTIONS} | {k for k, _, _ in ABOUT}
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise AnswersError(f"the answers file {path} has unknown keys {unknown}: "
                           "use the keys `jamii release --template` writes")
    return {str(k): "" if v is None else str(v).strip() for k, v in data.items()}


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
