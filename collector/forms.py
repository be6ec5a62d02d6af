"""From form values to store calls: checks, confirmations, idempotency, translated messages.

Nothing here imports Streamlit: pages hand in plain values and a mutable mapping for state
(Streamlit's session state in the app, a dict in tests) and show what comes back.

A submission goes through `prepare_item` (the one content validation, `clean_content`, plus
the non-blocking PII and language checks) and `submit_item`, which stores it only when there
is nothing blocking and every warning has been confirmed for exactly this content.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, MutableMapping

from jamii.collector.i18n import Translator
from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.store import DuplicateItem, Forbidden, Store, StoreError
from jamii.web.session import Viewer

LANGUAGE_CHECKED = {
    "prompt_response": ("prompt", "response"),
    "contextual": ("scenario", "persona", "question", "reference_answers", "red_flags"),
    "speech": ("transcript",),
}
"""Fields whose language lingua judges (rubric criterion names are often English on purpose)."""
STANDARD_CRITERIA = item_rules.DEFAULT_RUBRIC


# --------------------------------------------------------------------------- idempotency
def submission_key(state: MutableMapping[str, Any], form: str) -> str:
    """The idempotency key of the form's current draft, made when the form is first shown."""
    slot = f"_ikey:{form}"
    if not state.get(slot):
        state[slot] = f"{form}:{uuid.uuid4().hex}"
    return state[slot]


def rotate_key(state: MutableMapping[str, Any], form: str) -> None:
    """After a successful submit only: the next draft is a new item."""
    state[f"_ikey:{form}"] = f"{form}:{uuid.uuid4().hex}"


# --------------------------------------------------------------------------- messages
def field_label(tr: Translator, name: str) -> str:
    """"reference_answers[2]" -> "Reference answer 2", "rubric[1].anchors[3]" -> "... score 3"."""
    parts = []
    for piece in name.split("."):
        base, _, rest = piece.partition("[")
        index = rest.rstrip("]") if rest else ""
        label = tr(f"field.{base}", default=base.replace("_", " "))
        parts.append(f"{label} {index}".strip())
    return " · ".join(parts)


def problem_text(tr: Translator, problem: checks.Problem) -> str:
    """The problem in the reader's language, keyed by its code; English message as fallback."""
    key = f"problem.{problem.code}"
    if not tr.has(key):
        return problem.message
    params = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
              for k, v in dict(problem.params).items()}
    if problem.code == "wrong_language":
        from jamii.core.langtags import display_name

        params["detected"] = display_name(params.get("detected", ""), tr.language)
        params["expected"] = display_name(params.get("expected", ""), tr.language)
    return tr(key, field=field_label(tr, problem.field), **params)


# --------------------------------------------------------------------------- items
def _lines(text: Any) -> list[str]:
    """Entries of a multi-entry box: one per non-empty line."""
    if not isinstance(text, str):
        return []
    return [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _paragraphs(text: Any) -> list[str]:
    """Entries separated by a blank line (answers may span several lines)."""
    if not isinstance(text, str):
        return []
    blocks, current = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def rubric_from_form(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Criteria as typed: a criterion with no name and no anchors was left out on purpose."""
    out = []
    for crit in criteria:
        name = crit.get("name") or ""
        anchors = [a or "" for a in (crit.get("anchors") or [])]
        if not str(name).strip() and not any(str(a).strip() for a in anchors):
            continue
        out.append({"name": name, "description": crit.get("description") or "", "anchors": anchors})
    return out


def content_from_form(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Turn the widgets' values into the content document `clean_content` judges."""
    if kind == "prompt_response":
        return {"prompt": values.get("prompt"), "response": values.get("response"),
                "task_type": values.get("task_type") or "instruction"}
    if kind == "contextual":
        answers = [values.get("reference_answer")] + _paragraphs(values.get("more_answers"))
        return {"scenario": values.get("scenario"), "persona": values.get("persona"),
                "question": values.get("question"),
                "reference_answers": [a for a in answers if isinstance(a, str) and a.strip()],
                "rubric": rubric_from_form(values.get("rubric") or []),
                "red_flags": _lines(values.get("red_flags"))}
    if kind == "speech":
        content = {"transcript": values.get("transcript")}
        if isinstance(values.get("prompt_text"), str) and values["prompt_text"].strip():
            content["prompt_text"] = values["prompt_text"]
        for key in ("audio_sha256", "duration_s", "sample_rate"):
            if key in values:
                content[key] = values[key]
        return content
    raise ValueError(f"unknown kind {kind!r}")


@dataclass
class Prepared:
    kind: str
    language: str
    content: dict[str, Any]
    blocking: list[checks.Problem] = field(default_factory=list)
    warnings: list[checks.Problem] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """Identifies exactly this content, so a confirmation is for what was warned about."""
        payload = json.dumps([self.kind, self.language, self.content], sort_keys=True,
                             ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def prepare_item(kind: str, language: str, values: dict[str, Any],
                 regions: tuple[str, ...] = (), *, dialect: str | None = None,
                 domain: str | None = None) -> Prepared:
    """Validate form values; warnings are only computed when nothing blocks."""
    content = content_from_form(kind, values)
    cleaned = item_rules.clean_content(kind, content)
    blocking = list(cleaned.blocking) + item_rules.context_problems(dialect=dialect, domain=domain)
    prepared = Prepared(kind, language, cleaned.content, blocking, list(cleaned.warnings))
    if prepared.blocking:
        return prepared
    texts = item_rules.outgoing_texts(kind, cleaned.content, dialect=dialect, domain=domain)
    for name, text in texts.items():
        prepared.warnings += checks.pii_problems(name, text, regions)
    checked = LANGUAGE_CHECKED.get(kind, ())
    for name, text in texts.items():
        if name.split("[")[0] in checked:
            prepared.warnings += checks.language_problems(name, text, language)
    return prepared


@dataclass
class Outcome:
    status: str
    """stored | already | blocked | confirm | duplicate | refused"""
    problems: list[checks.Problem] = field(default_factory=list)
    item: Any = None
    message: str = ""
    """For refused: the store's reason (English) when no translation fits."""

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "already")


def submit_item(store: Store, state: MutableMapping[str, Any], form: str, *, viewer: Viewer,
                kind: str, language: str, values: dict[str, Any], dialect: str | None = None,
                domain: str | None = None, confirmed: bool = False,
                regions: tuple[str, ...] = ()) -> Outcome:
    """Check and store one item from a form; nothing is written unless the outcome is ok."""
    prepared = prepare_item(kind, language, values, regions, dialect=dialect, domain=domain)
    if prepared.blocking:
        return Outcome("blocked", prepared.blocking)
    warned_slot = f"_warned:{form}"
    if prepared.warnings and not (confirmed and state.get(warned_slot) == prepared.fingerprint):
        state[warned_slot] = prepared.fingerprint
        return Outcome("confirm", prepared.warnings)
    key = submission_key(state, form)
    try:
        done = store.submit_item(
            campaign_id=viewer.campaign.id, author_id=viewer.id, kind=kind, language=language,
            content=prepared.content, client_key=key, dialect=dialect or None,
            domain=domain or None, provenance={"source": "collector", "form": form,
                                              "warnings": sorted({p.code for p in prepared.warnings})})
    except item_rules.ItemError as exc:
        return Outcome("blocked", exc.problems)
    except DuplicateItem as exc:
        same = store.find_same_content(viewer.campaign.id, kind, prepared.content)
        if same is not None and same.author_id == viewer.id:
            # our own earlier submit of this very text (a reload, a second click): it is saved
            _done(state, form)
            return Outcome("already", item=same)
        return Outcome("duplicate", message=str(exc))
    except (Forbidden, StoreError) as exc:
        return Outcome("refused", message=str(exc))
    _done(state, form)
    return Outcome("stored" if done.created else "already", item=done.item)


def _done(state: MutableMapping[str, Any], form: str) -> None:
    rotate_key(state, form)
    state.pop(f"_warned:{form}", None)


def outcome_messages(tr: Translator, outcome: Outcome) -> list[tuple[str, str]]:
    """(level, text) pairs for the page to show: level is success, info, warning or error."""
    if outcome.status == "stored":
        return [("success", tr("contribute.saved", id=outcome.item.public_id))]
    if outcome.status == "already":
        return [("info", tr("contribute.already_saved", id=outcome.item.public_id))]
    if outcome.status == "blocked":
        return [("error", tr("contribute.fix_first"))] + [
            ("error", problem_text(tr, p)) for p in outcome.problems]
    if outcome.status == "confirm":
        return [("warning", tr("contribute.check_warnings"))] + [
            ("warning", problem_text(tr, p)) for p in outcome.problems]
    if outcome.status == "duplicate":
        return [("error", tr("contribute.duplicate"))]
    return [("error", tr("contribute.refused", reason=outcome.message))]


# --------------------------------------------------------------------------- audio
@dataclass
class Clip:
    data: bytes
    problems: list[checks.Problem]
    duration_s: float | None = None
    sample_rate: int | None = None


def check_clip(data: bytes | None, min_s: float = 1.0, max_s: float = 30.0) -> Clip | None:
    """Read a recording: its length and rate, and every reason to refuse it."""
    if not data:
        return None
    problems = checks.audio_problems(data, min_s=min_s, max_s=max_s)
    try:
        info = checks.inspect_audio(data)
    except ValueError:
        return Clip(data, problems)
    return Clip(data, problems, round(info.duration_s, 3), info.sample_rate)


def submit_speech(store: Store, state: MutableMapping[str, Any], form: str, *, viewer: Viewer,
                  language: str, clip: Clip | None, values: dict[str, Any],
                  dialect: str | None = None, domain: str | None = None,
                  confirmed: bool = False) -> Outcome:
    """Refuse a missing or bad clip before anything is written; else save audio, then the item."""
    if clip is None:
        return Outcome("blocked", [checks.Problem("audio", "missing", "Record the clip first.", True)])
    if clip.problems:
        return Outcome("blocked", clip.problems)
    if not viewer.scope("voice"):
        return Outcome("refused", message="voice")
    text_only = prepare_item("speech", language, {**values, "audio_sha256": "x"})
    if text_only.blocking:
        return Outcome("blocked", text_only.blocking)
    digest = store.save_audio(clip.data, ".wav")
    full = {**values, "audio_sha256": digest, "duration_s": clip.duration_s,
            "sample_rate": clip.sample_rate}
    return submit_item(store, state, form, viewer=viewer, kind="speech", language=language,
                       values=full, dialect=dialect, domain=domain, confirmed=confirmed)


# --------------------------------------------------------------------------- profile
def dialect_value(choice: str | None, other: str | None) -> str | None:
    """The dialect to store: a listed label, or "other: <what they wrote>"."""
    if choice == "__other__":
        text = (other or "").strip()
        return f"other: {text}" if text else None
    return choice or None


def profile_problems(values: dict[str, Any]) -> list[checks.Problem]:
    """Free-text profile fields get the same text checks as items (all optional)."""
    problems = []
    for name in ("region", "gender", "dialect", "compensation_choice"):
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            problems += checks.check_label(name, value, max_chars=120)
    return problems
