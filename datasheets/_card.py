"""README.md: the Hugging Face dataset card, YAML from `DatasetCardData`, body from a template
whose sections are filled from the datasheet's answers (never from a separate form)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from jamii.core.schema import column_descriptions
from jamii.datasheets._datasheet import answers_for

if TYPE_CHECKING:
    from jamii.datasheets._context import Context

# Allowed values (hub-docs datasetcard.md; huggingface.js pipelines.ts), checked offline.
ANNOTATIONS_CREATORS = {"found", "crowdsourced", "expert-generated", "machine-generated",
                        "no-annotation", "other"}
LANGUAGE_CREATORS = {"found", "crowdsourced", "expert-generated", "machine-generated", "other"}
MULTILINGUALITY = {"monolingual", "multilingual", "translation", "other"}
SIZE_CATEGORIES = ["n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M",
                   "100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T"]
TASK_CATEGORIES = {"text-generation", "question-answering", "text2text-generation", "translation",
                   "summarization", "automatic-speech-recognition", "text-to-speech",
                   "multiple-choice", "audio-classification", "text-classification"}
TASK_IDS = {"open-domain-qa", "closed-domain-qa", "abstractive-qa", "language-modeling",
            "dialogue-generation"}
HUB_LICENCES = {"cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "other"}

KIND_TASKS = {
    "prompt_response": ["text-generation"],
    "contextual": ["question-answering", "text-generation"],
    "speech": ["automatic-speech-recognition"],
}
TASK_TYPE_TASKS = {"translation": "translation", "summarisation": "summarization"}


def size_category(n: int) -> str:
    bounds = [1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 10**9, 10**10,
              10**11, 10**12]
    for bound, name in zip(bounds, SIZE_CATEGORIES):
        if n < bound:
            return name
    return SIZE_CATEGORIES[-1]


def card_data(ctx: "Context") -> DatasetCardData:
    kinds = ctx.found.kinds()
    tasks: list[str] = []
    for kind in kinds:
        tasks += KIND_TASKS[kind]
    for task_type in ctx.found.task_types:
        if task_type in TASK_TYPE_TASKS:
            tasks.append(TASK_TYPE_TASKS[task_type])
    task_ids = ["open-domain-qa"] if "contextual" in kinds else []
    langs = ctx.languages()
    iso = sorted({lang["iso"] for lang in langs})
    translation = ctx.found.task_types.get("translation", 0) > 0
    configs = []
    for i, kind in enumerate(kinds):
        configs.append({
            "config_name": kind,
            "data_files": [{"split": s, "path": paths[0] if len(paths) == 1 else paths}
                           for (k, s), paths in sorted(ctx.found.parts.items()) if k == kind],
            **({"default": True} if i == 0 else {}),
        })
    return DatasetCardData(
        pretty_name=ctx.title,
        language=iso,
        language_details=", ".join(lang["tag"] for lang in langs) if len(langs) > 1
        else (langs[0]["tag"] if langs else None),
        annotations_creators=["crowdsourced"],
        language_creators=["crowdsourced"],
        multilinguality=["translation"] if translation else
        (["multilingual"] if len(iso) > 1 else ["monolingual"]),
        size_categories=[size_category(ctx.found.total)],
        source_datasets=["original"],
        task_categories=list(dict.fromkeys(tasks)),
        task_ids=task_ids,
        tags=["jamii", "community-collected", "low-resource", "benchmark"],
        configs=configs,
        **ctx.licence.card_fields,
        **({"extra_gated_prompt": "The recordings in this dataset are people's voices. By "
            "accessing it you agree not to attempt to determine the identity of speakers."}
           if "speech" in kinds else {}),
    )


def render(ctx: "Context", env, *, withdrawn: list | None = None) -> str:
    """One Jinja pass, by `DatasetCard.from_template`, so organiser text is never re-rendered.

    `withdrawn`: the rows of withdrawn.csv (`_bundle.withdrawals`), counted in one line."""
    source, _, _ = env.loader.get_source(env, "README.md.j2")
    columns = {kind: column_descriptions(kind) for kind in ctx.found.kinds()}
    card = DatasetCard.from_template(card_data(ctx), template_str=source, ctx=ctx,
                                     a=answers_for(ctx), columns=columns,
                                     withdrawn=withdrawn or [])
    return str(card)


def card_problems(text: str) -> list[str]:
    """Reasons the card's YAML is outside the allowed lists (`DatasetCard.validate` needs the
    network, so the values are checked here)."""
    if not text.startswith("---"):
        return ["README.md has no YAML header"]
    meta: dict[str, Any] = yaml.safe_load(text.split("---", 2)[1]) or {}
    problems = []

    def check(name: str, allowed, required: bool = True) -> None:
        values = meta.get(name)
        if values is None:
            if required:
                problems.append(f"README.md YAML lacks `{name}`")
            return
        for v in values if isinstance(values, list) else [values]:
            if v not in allowed:
                problems.append(f"README.md YAML `{name}` has '{v}', not in the allowed list")

    check("annotations_creators", ANNOTATIONS_CREATORS)
    check("language_creators", LANGUAGE_CREATORS)
    check("multilinguality", MULTILINGUALITY)
    check("size_categories", SIZE_CATEGORIES)
    check("task_categories", TASK_CATEGORIES)
    check("task_ids", TASK_IDS, required=False)
    check("license", HUB_LICENCES)
    if meta.get("license") == "other" and not (meta.get("license_name") and meta.get("license_link")):
        problems.append("README.md YAML says license: other without license_name and license_link")
    from jamii.core.langtags import LanguageTagError, iso639

    for code in meta.get("language") or []:
        try:
            if iso639(code) != code:
                problems.append(f"README.md YAML language '{code}' is not the shortest ISO 639 code")
        except LanguageTagError:
            problems.append(f"README.md YAML language '{code}' is not an ISO 639 code")
    if not meta.get("language"):
        problems.append("README.md YAML lacks `language`")
    if not meta.get("pretty_name"):
        problems.append("README.md YAML lacks `pretty_name`")
    if not meta.get("configs"):
        problems.append("README.md YAML lacks `configs`")
    return problems
