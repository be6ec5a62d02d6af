"""The one schema of a released row, shared by the release builder, the evaluator and exports.

Every published representation (parquet columns, `datasets.Features`, Croissant fields, the
lm-evaluation-harness task) is derived from the tables below, so that a column added here
appears everywhere at once and nowhere by hand.
"""

from __future__ import annotations

import pyarrow as pa

ITEM_KINDS = ("prompt_response", "contextual", "speech")
"""The three kinds of item a campaign can collect (DESIGN section 2)."""

TASK_TYPES = ("instruction", "open_qa", "translation", "summarisation")
"""Task types a prompt/response pair may carry."""

SPLITS = ("validation", "test")
"""Release splits. A benchmark is for evaluation, so there is no train split; the split of an
item is a hash of its stable id (see `jamii.datasheets`), so it never moves between versions."""

RUBRIC_CRITERION = pa.struct(
    [
        ("name", pa.string()),
        ("description", pa.string()),
        # anchors[i] describes the score i + 1, from 1 (worst) to 5 (best)
        ("anchors", pa.list_(pa.string())),
    ]
)

COMMON_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("id", pa.string(), "Stable item id; never reused, never changes between releases."),
    ("version", pa.int32(), "Item version; grows when an accepted edit changes the item."),
    ("kind", pa.string(), "Item kind: prompt_response, contextual or speech."),
    ("language", pa.string(), "BCP-47 language tag, normalised with langcodes."),
    ("dialect", pa.string(), "Dialect label from the campaign's list, or null."),
    ("domain", pa.string(), "Domain such as agriculture or health."),
    ("split", pa.string(), "validation or test, from a hash of the id."),
    ("author", pa.string(), "Author's stable public pseudonym."),
    ("reviewers", pa.list_(pa.string()), "Pseudonyms of the peers who reviewed the item."),
    ("consent_version", pa.string(), "Version of the consent text the author accepted."),
]

KIND_COLUMNS: dict[str, list[tuple[str, pa.DataType, str]]] = {
    "prompt_response": [
        ("prompt", pa.string(), "The prompt as written by the community."),
        ("response", pa.string(), "The reference response."),
        ("task_type", pa.string(), "instruction, open_qa, translation or summarisation."),
    ],
    "contextual": [
        ("scenario", pa.string(), "Who asks, where, in what circumstances."),
        ("persona", pa.string(), "The person the answer must serve."),
        ("question", pa.string(), "The question as that person would ask it."),
        ("reference_answers", pa.list_(pa.string()), "One or more good answers."),
        ("rubric", pa.list_(RUBRIC_CRITERION), "Criteria with anchors for scores 1 to 5."),
        ("red_flags", pa.list_(pa.string()), "What a harmful answer would say."),
    ],
    "speech": [
        ("audio", pa.struct([("bytes", pa.binary()), ("path", pa.string())]), "WAV audio."),
        ("transcript", pa.string(), "What is said in the clip."),
        ("prompt_text", pa.string(), "Text read aloud, or the topic of spontaneous speech."),
        ("duration_s", pa.float32(), "Clip length in seconds."),
        ("sample_rate", pa.int32(), "Samples per second."),
    ],
}


def arrow_schema(kind: str) -> pa.Schema:
    """The parquet schema of one kind's release files."""
    if kind not in KIND_COLUMNS:
        raise ValueError(f"unknown item kind {kind!r}; expected one of {', '.join(ITEM_KINDS)}")
    fields = [pa.field(n, t, metadata={"description": d}) for n, t, d in COMMON_COLUMNS]
    fields += [pa.field(n, t, metadata={"description": d}) for n, t, d in KIND_COLUMNS[kind]]
    return pa.schema(fields)


def column_descriptions(kind: str) -> dict[str, str]:
    """Column name to description, for cards, datasheets and Croissant."""
    return {n: d for n, _, d in COMMON_COLUMNS + KIND_COLUMNS[kind]}
