"""What a well-formed item of each kind holds, judged the same way by every entry point.

The collector's forms, `jamii import` and the store all call `clean_content`, so an item that
one of them accepts the others accept too, and the message for a bad field is the same
everywhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from jamii.core import checks
from jamii.core.schema import ITEM_KINDS, TASK_TYPES

TEXT_FIELDS: dict[str, dict[str, bool]] = {
    # field -> required
    "prompt_response": {"prompt": True, "response": True},
    "contextual": {"scenario": True, "persona": True, "question": True},
    "speech": {"transcript": True, "prompt_text": False},
}
LIST_FIELDS: dict[str, dict[str, bool]] = {
    "prompt_response": {},
    "contextual": {"reference_answers": True, "red_flags": False},
    "speech": {},
}
DEFAULT_RUBRIC = ("usefulness", "relevance", "accuracy", "safety")


class ItemError(ValueError):
    """An item that cannot be stored; `problems` lists every field to fix."""

    def __init__(self, problems: list[checks.Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


@dataclass
class CleanItem:
    content: dict[str, Any]
    problems: list[checks.Problem] = field(default_factory=list)
    """Every problem found, blocking or not."""

    @property
    def blocking(self) -> list[checks.Problem]:
        return [p for p in self.problems if p.blocking]

    @property
    def warnings(self) -> list[checks.Problem]:
        return [p for p in self.problems if not p.blocking]


def clean_content(kind: str, content: dict[str, Any]) -> CleanItem:
    """Normalise every text to NFC and collect the problems of each field.

    Unknown keys are kept only for the kind's known fields, so that a mapping typo in an
    import is not silently published as an extra column.
    """
    if kind not in ITEM_KINDS:
        problem = checks.Problem(
            "kind", "unknown_kind", f"'{kind}' is not an item kind: use one of {', '.join(ITEM_KINDS)}.", True
        )
        return CleanItem({}, [problem])
    out: dict[str, Any] = {}
    problems: list[checks.Problem] = []
    for name, required in TEXT_FIELDS[kind].items():
        value = content.get(name)
        if value is None and not required:
            continue
        found = checks.check_text(name, value, required=required)
        problems += found
        if isinstance(value, str):
            out[name] = checks.normalise_text(value)
    for name, required in LIST_FIELDS[kind].items():
        values = content.get(name)
        if values is None or values == "":
            values = []
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            problems.append(checks.Problem(name, "wrong_type", f"{name} must be a list of texts.", True))
            continue
        kept = []
        for i, v in enumerate(values):
            found = checks.check_text(f"{name}[{i + 1}]", v, required=True)
            problems += found
            if isinstance(v, str) and v.strip():
                kept.append(checks.normalise_text(v))
        if required and not kept and not any(p.field.startswith(name) for p in problems):
            problems.append(
                checks.Problem(name, "empty", f"Add at least one entry to {name.replace('_', ' ')}.", True)
            )
        out[name] = kept
    if kind == "prompt_response":
        task_type = content.get("task_type")
        if task_type is None or task_type == "":  # not said: the default
            task_type = "instruction"
        if not isinstance(task_type, str):  # 0 or False is not "not said"
            problems.append(
                checks.Problem(
                    "task_type", "wrong_type",
                    f"The task type must be text (one of {', '.join(TASK_TYPES)}), not "
                    f"{checks._type_name(task_type)}.", True,
                )
            )
            task_type = "instruction"
        elif task_type not in TASK_TYPES:
            problems.append(
                checks.Problem(
                    "task_type", "unknown_value",
                    f"'{task_type}' is not a task type: use one of {', '.join(TASK_TYPES)}.", True,
                )
            )
        out["task_type"] = task_type
    if kind == "contextual":
        rubric, rubric_problems = _clean_rubric(content.get("rubric"))
        out["rubric"] = rubric
        problems += rubric_problems
    if kind == "speech":
        for key in ("audio_sha256", "duration_s", "sample_rate"):
            if key in content:
                out[key] = content[key]
        if "audio_sha256" not in content:
            problems.append(checks.Problem("audio", "missing", "Record or attach the audio clip.", True))
    return CleanItem(out, problems)


def _clean_rubric(rubric: Any) -> tuple[list[dict[str, Any]], list[checks.Problem]]:
    """A rubric is a list of criteria, each with a name and five anchors (scores 1 to 5)."""
    if rubric in (None, "", []):
        return [], [
            checks.Problem(
                "rubric", "empty",
                "Add at least one rubric criterion (for example usefulness or safety) with anchors for 1 to 5.",
                True,
            )
        ]
    if not isinstance(rubric, list):
        return [], [checks.Problem("rubric", "wrong_type", "The rubric must be a list of criteria.", True)]
    out, problems = [], []
    for i, crit in enumerate(rubric, start=1):
        label = f"rubric[{i}]"
        if not isinstance(crit, dict):
            problems.append(checks.Problem(label, "wrong_type", "Each criterion needs a name and anchors.", True))
            continue
        problems += checks.check_label(f"{label}.name", crit.get("name"), required=True)
        anchors = crit.get("anchors")
        if isinstance(anchors, dict):
            anchors = [anchors.get(str(s)) or anchors.get(s) for s in range(1, 6)]
        if not isinstance(anchors, list) or len(anchors) != 5:
            problems.append(
                checks.Problem(f"{label}.anchors", "anchors", "Write an anchor for each score from 1 to 5.", True)
            )
            anchors = []
        for s, a in enumerate(anchors, start=1):
            problems += checks.check_text(f"{label}.anchors[{s}]", a)
        description = crit.get("description") or ""
        if description:
            problems += checks.check_text(f"{label}.description", description, required=False)
        out.append(
            {
                "name": checks.normalise_text(crit["name"]) if isinstance(crit.get("name"), str) else "",
                "description": checks.normalise_text(description) if isinstance(description, str) else "",
                "anchors": [checks.normalise_text(a) if isinstance(a, str) else "" for a in anchors],
            }
        )
    return out, problems


def content_sha256(kind: str, content: dict[str, Any]) -> str:
    """Hash of the normalised content: two items with the same hash are exact duplicates."""
    payload = json.dumps({"kind": kind, **content}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


CONTEXT_FIELDS = ("dialect", "domain")
"""The short labels stored beside an item's content; they are published in every row."""
OTHER_DIALECT = "other:"
"""A dialect not in the campaign's list is stored as "other: <the contributor's name for it>"."""


def context_problems(**labels: Any) -> list[checks.Problem]:
    """Judge the side fields (dialect, domain) as `checks.check_label` judges every label.

    They are published in every row and shown to reviewers like the content, so they get
    the same refusals (invisible text, controls, direction overrides, markup, over-long).
    """
    problems: list[checks.Problem] = []
    for name in CONTEXT_FIELDS:
        value = labels.get(name)
        if value in (None, ""):
            continue
        found = checks.check_label(name, value)
        if not found and name == "dialect" and value.strip().startswith(OTHER_DIALECT):
            # "other: " + the contributor's own name for it: that name must say something
            found = checks.check_label(name, value.strip()[len(OTHER_DIALECT):], required=True)
        problems += found
    return problems


def outgoing_texts(kind: str, content: dict[str, Any], *, dialect: str | None = None,
                   domain: str | None = None) -> dict[str, str]:
    """Every text of an item that a release publishes, by field: the one definition.

    The personal-data scan at submission, import, `jamii items flagged`, the organiser's
    personal-data page and the release gate all read this, so a field published in a row is
    a field scanned. A test derives the release's text columns from the arrow schema and fails
    when one is missing here.
    """
    texts = {k: content[k] for k in TEXT_FIELDS.get(kind, {}) if isinstance(content.get(k), str)}
    for name in LIST_FIELDS.get(kind, {}):
        for i, v in enumerate(content.get(name) or [], start=1):
            if isinstance(v, str):
                texts[f"{name}[{i}]"] = v
    for i, crit in enumerate(content.get("rubric") or [], start=1):
        if not isinstance(crit, dict):
            continue
        texts[f"rubric[{i}].name"] = crit.get("name") or ""
        if crit.get("description"):
            texts[f"rubric[{i}].description"] = crit["description"]
        for s, a in enumerate(crit.get("anchors") or [], start=1):
            if isinstance(a, str):
                texts[f"rubric[{i}].anchors[{s}]"] = a
    if kind == "prompt_response" and isinstance(content.get("task_type"), str):
        texts["task_type"] = content["task_type"]
    for name, value in (("dialect", dialect), ("domain", domain)):
        if isinstance(value, str) and value:
            texts[name] = value
    return texts


def campaign_outgoing_texts(campaign: Any, rate_cards: list[Any]) -> dict[str, str]:
    """The organiser's texts every release prints beside the items (card, CITATION.cff,
    Croissant, compensation.md): the campaign's name and description, rate units and in-kind
    goods. The other half of the one definition of outgoing text, read by the release gate.

    Consent texts and the answers file are left out on purpose: they are the organiser's
    deliberate public words, where a contact for questions belongs.
    """
    texts = {"campaign name": campaign.name or "",
             "campaign description": campaign.description or ""}
    for card in rate_cards:
        for activity, rate in (card.rates or {}).items():
            texts[f"rate card {card.version}, unit of {activity}"] = str(rate.get("unit") or "")
            for good in rate.get("in_kind") or {}:
                texts[f"rate card {card.version}, in-kind good of {activity}"] = str(good)
    return texts
