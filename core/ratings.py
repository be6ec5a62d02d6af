"""The rules of community rating, defined once for the store, the collector, sheets and seeds.

A rating task shows raters one model answer (direct assessment: every rubric criterion 1-5,
a safety flag, a comment) or two answers to the same item (pair: A better, B better, tie,
both bad). Raters never learn which model wrote an answer; an answer that names its model
or maker gives that away, so such answers are kept out of tasks unless the organiser asks.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import regex

MODES = ("direct", "pair")
"""direct: one answer scored on the rubric; pair: two answers compared."""

QUEUE_MODES = {"direct": ("direct",), "pairwise": ("pair",), "both": ("direct", "pair")}
"""What `jamii ratings queue --mode` makes."""

PAIR_CHOICES = ("a", "b", "tie", "both_bad")
"""A better, B better, equally good, both bad. Ties and 'both bad' count half a win each."""

RATER_POLICIES = ("reviewers", "consented")
"""Who may rate: the campaign's reviewers (and organisers), or every contributor whose
consent includes the `rating` scope."""

RATING_SCOPE = "rating"

DEFAULTS: dict[str, Any] = {"raters": "reviewers", "daily_cap": None, "ratings_per_task": 3}
"""A campaign's rating settings when its organisers have said nothing."""

SCORE_RANGE = range(1, 6)

GOLD_MODEL = "jamii:gold-reference"
DECOY_MODEL = "jamii:gold-decoy"
"""Answers jamii makes for gold tasks: the item's own reference answer against an empty or
off-language one. They are never scored as a model."""

IDENTITY_WORDS = (
    "openai", "chatgpt", "gpt-3", "gpt-4", "gpt-5", "anthropic", "claude", "gemini", "bard",
    "google deepmind", "meta ai", "llama", "mistral", "mixtral", "qwen", "alibaba cloud",
    "deepseek", "gemma", "phi-3", "phi-4", "cohere", "aya", "command r", "falcon", "olmo",
    "smollm", "hugging face", "huggingface",
)
"""Names that reveal which model or maker wrote an answer (Chatbot Arena drops battles whose
answers contain such words: FastChat's clean_battle_data.py)."""

_WORD_EDGE = r"(?<![\p{L}\p{N}])"


def is_jamii_answer(model_id: str) -> bool:
    """Gold and decoy answers: part of quality control, never of any model's score."""
    return model_id.startswith("jamii:")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def model_names(model_id: str) -> list[str]:
    """The words of a model id a reader would recognise: 'hf:org/Tiny-Swahili-7B' gives
    'tiny-swahili-7b' (the name after the last '/' or ':' or '#'), when long enough to mean
    something."""
    name = regex.split(r"[/:#]", model_id.strip())[-1]
    name = _fold(name)
    return [name] if len(name) >= 4 else []


def reveals_model(answer: str, model_id: str) -> bool:
    """Whether the answer names its model or any well-known model or maker, as a word."""
    text = _fold(answer)
    for word in (*IDENTITY_WORDS, *model_names(model_id)):
        if regex.search(_WORD_EDGE + regex.escape(word) + r"(?![\p{L}])", text):
            return True
    return False


def task_key(mode: str, a: int, b: int | None = None) -> str:
    """Unordered: the same two answers make one task whichever side each is shown on."""
    if mode == "direct":
        return f"direct:{a}"
    lo, hi = sorted((a, b))
    return f"pair:{lo}:{hi}"


def settings_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULTS, **(stored or {})}


def settings_problems(raters: Any, daily_cap: Any, ratings_per_task: Any) -> list[str]:
    problems = []
    if raters not in RATER_POLICIES:
        problems.append(f"Who may rate must be one of {', '.join(RATER_POLICIES)}, not {raters!r}.")
    if daily_cap is not None and (isinstance(daily_cap, bool) or not isinstance(daily_cap, int)
                                  or daily_cap < 1):
        problems.append("The daily cap must be a whole number of ratings of 1 or more, or none.")
    if isinstance(ratings_per_task, bool) or not isinstance(ratings_per_task, int) \
            or not 1 <= ratings_per_task <= 50:
        problems.append("Ratings wanted per task must be a whole number from 1 to 50.")
    return problems


def criteria_of(rubric: Any) -> list[str]:
    """The criterion names of an item's rubric, in its order."""
    return [str(c.get("name")) for c in (rubric or []) if isinstance(c, dict) and c.get("name")]


def score_problems(scores: Any, criteria: list[str]) -> list[str]:
    """Every rubric criterion scored once, each a whole number from 1 to 5, and nothing else."""
    if not isinstance(scores, dict):
        return ["Give a score from 1 to 5 for each criterion."]
    problems = []
    missing = [c for c in criteria if c not in scores]
    if missing:
        problems.append(f"Give a score from 1 to 5 for: {', '.join(missing)}.")
    unknown = [str(k) for k in scores if k not in criteria]
    if unknown:
        problems.append(f"This item's rubric has no criterion {', '.join(unknown)}; "
                        f"its criteria are {', '.join(criteria)}.")
    for name, value in scores.items():
        if name in criteria and (isinstance(value, bool) or not isinstance(value, int)
                                 or value not in SCORE_RANGE):
            problems.append(f"The score for {name} must be a whole number from 1 to 5.")
    return problems


def choice_problems(choice: Any) -> list[str]:
    if choice not in PAIR_CHOICES:
        return [f"Choose one of {', '.join(PAIR_CHOICES)} (A better, B better, tie, both bad)."]
    return []
