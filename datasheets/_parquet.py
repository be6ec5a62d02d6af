"""Parquet files of a release: one per kind and split, columns from `jamii.core.schema`.

The files carry the `datasets` features in their schema metadata, so `load_dataset` and the
Hub viewer read the speech column as `Audio` and play it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jamii.core.schema import arrow_schema


def features(kind: str):
    """`datasets.Features` of one kind, derived from the arrow schema; audio as `Audio`."""
    import datasets

    feats = datasets.Features.from_arrow_schema(arrow_schema(kind))
    if "audio" in feats:
        feats["audio"] = datasets.Audio()
    return feats


def schema_with_features(kind: str) -> pa.Schema:
    """The arrow schema (column descriptions kept) plus the `huggingface` features metadata."""
    base = arrow_schema(kind)
    hf_meta = features(kind).arrow_schema.metadata or {}
    return base.with_metadata({**(base.metadata or {}), **hf_meta})


def file_name(kind: str, split: str, part: int = 0, parts: int = 1) -> str:
    return f"data/{kind}/{split}-{part:05d}-of-{parts:05d}.parquet"


class PartWriter:
    """Writes rows of one kind and split in batches; an empty part still gets its file."""

    def __init__(self, root: Path, kind: str, split: str, name: str | None = None,
                 schema: pa.Schema | None = None):
        self.kind, self.split = kind, split
        self.path = root / (name or file_name(kind, split))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema if schema is not None else schema_with_features(kind)
        self.rows = 0
        self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")

    def write(self, columns: dict[str, list[Any]]) -> None:
        n = len(next(iter(columns.values()))) if columns else 0
        if not n:
            return
        table = pa.Table.from_pydict({f.name: columns[f.name] for f in self.schema},
                                     schema=self.schema)
        self._writer.write_table(table, row_group_size=50_000)
        self.rows += n

    def close(self) -> None:
        self._writer.close()
