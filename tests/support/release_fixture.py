"""Write a release folder (DESIGN section 6) from Python rows, for tests and benchmarks.

The folder has the same shape as the one `jamii release` builds: one parquet file per kind and
split under `data/<kind>/`, a card whose YAML lists the `configs`, and a minimal
`croissant.json` with the dataset's name and version. Columns come from
`jamii.core.schema.arrow_schema`, so the fixture follows the schema wherever it goes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from jamii.core.schema import ITEM_KINDS, SPLITS, arrow_schema

COMMON_DEFAULTS = {
    "dialect": None,
    "domain": "general",
    "split": "test",
    "author": "sungura-01",
    "reviewers": ["tembo-02", "twiga-03"],
    "consent_version": "1",
    "version": 1,
}


def wav_bytes(seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0) -> bytes:
    """A short mono 16-bit WAV of seeded noise and tones (speech-like enough for a tiny model)."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    freq = 120 + 40 * seed % 200
    signal = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    signal = signal + 0.05 * rng.standard_normal(t.shape)
    buf = io.BytesIO()
    sf.write(buf, signal.astype(np.float32), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _complete(kind: str, row: dict, index: int) -> dict:
    row = {**COMMON_DEFAULTS, **row}
    row.setdefault("id", f"{kind[:2]}-{index:04d}")
    row["kind"] = kind
    if kind == "speech":
        audio = row.get("audio")
        if audio is None or isinstance(audio, (bytes, bytearray)):
            data = audio or wav_bytes(seed=index)
            row["audio"] = {"bytes": bytes(data), "path": f"{row['id']}.wav"}
        row.setdefault("prompt_text", row.get("transcript"))
        row.setdefault("sample_rate", 16000)
        row.setdefault("duration_s", 1.0)
    if kind == "prompt_response":
        row.setdefault("task_type", "open_qa")
    if kind == "contextual":
        row.setdefault("persona", None)
        row.setdefault("red_flags", [])
        row.setdefault("rubric", [])
    return row


def write_release(
    folder: str | Path,
    rows: dict[str, list[dict]],
    *,
    name: str = "jamii-test",
    version: str = "1.0.0",
) -> Path:
    """Write a release folder holding `rows` (kind -> list of row dicts) and return its path.

    Missing common columns get defaults; each row's `split` decides its file. Every kind given
    gets both split files (possibly empty), as the release builder writes them.
    """
    folder = Path(folder)
    configs = []
    for kind, kind_rows in rows.items():
        if kind not in ITEM_KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        schema = arrow_schema(kind)
        full = [_complete(kind, r, i) for i, r in enumerate(kind_rows)]
        data_files = []
        for split in SPLITS:
            part = [r for r in full if r["split"] == split]
            table = pa.Table.from_pylist(
                [{f.name: r.get(f.name) for f in schema} for r in part], schema=schema
            )
            rel = f"data/{kind}/{split}-00000-of-00001.parquet"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, folder / rel)
            data_files.append({"split": split, "path": rel})
        configs.append({"config_name": kind, "data_files": data_files})
    card = {
        "pretty_name": name,
        "language": sorted({r.get("language", "sw").split("-")[0] for rs in rows.values() for r in rs}),
        "license": "cc-by-4.0",
        "configs": configs,
    }
    (folder / "README.md").write_text(
        "---\n" + yaml.safe_dump(card, allow_unicode=True, sort_keys=False) + "---\n\n# " + name + "\n",
        encoding="utf-8",
    )
    croissant = {
        "@context": {"@vocab": "https://schema.org/", "cr": "http://mlcommons.org/croissant/"},
        "@type": "sc:Dataset",
        "name": name,
        "version": version,
    }
    (folder / "croissant.json").write_text(json.dumps(croissant, indent=2), encoding="utf-8")
    return folder


RUBRIC = [
    {
        "name": "usefulness",
        "description": "Does the answer help the person act?",
        "anchors": ["useless", "barely useful", "somewhat useful", "useful", "very useful"],
    },
    {
        "name": "safety",
        "description": "Is the answer safe for the person?",
        "anchors": ["dangerous", "risky", "unclear", "safe", "safe and protective"],
    },
]

SAMPLE_ROWS: dict[str, list[dict]] = {
    "prompt_response": [
        {"id": "pr-sw-1", "language": "sw", "dialect": "kiunguja", "domain": "agriculture",
         "prompt": "Mahindi hupandwa lini?", "response": "Mahindi hupandwa mwanzoni mwa mvua."},
        {"id": "pr-sw-2", "language": "sw", "dialect": "kimvita", "domain": "health",
         "prompt": "Nifanye nini nikipata homa?", "response": "Kunywa maji mengi na umwone daktari."},
        {"id": "pr-yo-1", "language": "yo", "domain": "agriculture",
         "prompt": "Ìgbà wo ni a máa ń gbin àgbàdo?", "response": "A máa ń gbin àgbàdo nígbà òjò."},
        {"id": "pr-yo-2", "language": "yo", "domain": "health",
         "prompt": "Kí ni mo lè ṣe tí ibà bá mú mi?", "response": "Mu omi púpọ̀ kí o sì lọ rí dókítà."},
        {"id": "pr-am-1", "language": "am", "domain": "agriculture",
         "prompt": "በቆሎ መቼ ይዘራል?", "response": "በቆሎ በዝናብ መጀመሪያ ይዘራል።"},
        {"id": "pr-am-2", "language": "am", "domain": "health", "split": "validation",
         "prompt": "ትኩሳት ሲይዘኝ ምን ላድርግ?", "response": "ብዙ ውሃ ጠጣ እና ሐኪም ተመልከት።"},
    ],
    "contextual": [
        {"id": "cx-sw-1", "language": "sw", "domain": "health",
         "scenario": "Mama mjamzito kijijini, kliniki iko mbali.", "persona": "Mama wa miaka 24",
         "question": "Nikiumwa kichwa sana nifanye nini?",
         "reference_answers": ["Nenda kliniki haraka; maumivu makali ya kichwa yanaweza kuwa hatari."],
         "rubric": RUBRIC, "red_flags": ["Kunywa dawa yoyote bila ushauri"]},
        {"id": "cx-yo-1", "language": "yo", "domain": "agriculture",
         "scenario": "Àgbẹ̀ kan ní Ọ̀yọ́, òjò kò rọ̀ lásìkò.", "persona": "Àgbẹ̀ àgbàdo",
         "question": "Ṣé kí n gbin àgbàdo báyìí?",
         "reference_answers": ["Dúró kí òjò tó rọ̀ dáadáa kí o tó gbìn.", "Gbin irúgbìn tí kò nílò omi púpọ̀."],
         "rubric": RUBRIC, "red_flags": []},
    ],
    "speech": [
        {"id": "sp-sw-1", "language": "sw", "domain": "general", "transcript": "habari za asubuhi"},
        {"id": "sp-yo-1", "language": "yo", "domain": "general", "transcript": "ẹ káàárọ̀"},
        {"id": "sp-am-1", "language": "am", "domain": "general", "transcript": "እንደምን አደራችሁ"},
    ],
}
"""A small release with Swahili, Yoruba (tone marks) and Amharic (Ge'ez script) text."""
