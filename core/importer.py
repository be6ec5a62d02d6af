"""`jamii import`: bring items in from CSV, TSV, JSONL, JSON, parquet or a `datasets` folder.

    report = import_file(store, "flores_sw.jsonl", campaign="kilimo", kind="prompt_response",
                         mapping={"prompt": "translation.en", "response": "translation.sw"},
                         language="sw", task_type="translation")

Every row is judged the way the collector judges a form (`jamii.core.items.clean_content`,
the campaign's languages, dialects and domains) before anything is written. Without
`skip_invalid`, one invalid row means nothing is written and every invalid row is listed;
with it, the valid rows go in and the invalid ones are listed. Rows are keyed by the source's
sha256 and their row number, so importing the same file again adds nothing.

Imported rows have no consent record: the organiser answers for the source's licence. Their
provenance says where each came from: `{"source": "import", "file", "sha256", "row"}`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, TYPE_CHECKING

from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.langtags import LanguageTagError, normalise_tag
from jamii.core.schema import ITEM_KINDS, TASK_TYPES

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store

__all__ = ["ImportReport", "RowProblem", "SourceError", "import_file", "read_rows", "FORMATS"]

FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "json", ".parquet": "parquet", ".pq": "parquet",
}
"""File suffix -> reader. A folder is read as a `datasets` folder."""

CONTEXT_FIELDS = ("language", "dialect", "domain")
"""Fields every kind may take from a column, besides its content fields."""

_MISSING = object()
_CSV_FIELD_LIMIT = 256 * 1024 * 1024
_MAX_LISTED_COLUMNS = 30
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a JSON row (or a JSON cell) may have: real datasets
nest a few levels; thousands of levels only crash parsers."""
_SNIFF_BYTES = 64 * 1024


class SourceError(ValueError):
    """The file as a whole cannot be imported (missing, unreadable, wrong mapping): one message."""


@dataclass(frozen=True)
class RowProblem:
    """One reason one row was not imported, as the person fixing the file needs it."""

    row: int
    """1-based number of the data row (the header of a CSV is not a row)."""
    field: str | None
    """The item field at fault ("prompt", "reference_answers[2]", "language"), or None for the
    whole row (not JSON, a duplicate of another row...)."""
    reason: str
    """What is wrong and what to do, in a sentence."""
    column: str | None = None
    """The file's column (or dotted path) the field was read from, when it differs."""
    location: str | None = None
    """Where to find the row in the file: "line 7", or "split test, index 3"."""
    code: str = ""
    """Stable machine code from `jamii.core.checks` ("empty", "too_long"...), or the importer's."""

    def describe(self) -> str:
        where = f"row {self.row}" + (f" ({self.location})" if self.location else "")
        if self.field is None:
            return f"{where}: {self.reason}"
        column = f" (column {self.column})" if self.column and self.column != self.field else ""
        return f"{where}, field {self.field}{column}: {self.reason}"


@dataclass
class ImportReport:
    """What an import read, wrote and refused."""

    source: str
    """The file or folder name."""
    source_sha256: str
    """sha256 of the file's bytes (of its files' names and hashes, for a folder)."""
    campaign: str
    kind: str
    rows_read: int = 0
    imported: int = 0
    already_present: int = 0
    """Rows already in the campaign: from an earlier import of this file, or the same content."""
    invalid: list[RowProblem] = field(default_factory=list)
    """Every blocking problem of every rejected row."""
    warnings: list[RowProblem] = field(default_factory=list)
    """Non-blocking findings on imported rows (possible personal data): the release's PII gate
    holds those items until an organiser clears them."""
    refused: bool = False
    """True when invalid rows stopped the whole import (nothing was written)."""
    dry_run: bool = False
    accepted: bool = False
    author: str | None = None
    """Pseudonym the imported rows are credited to."""
    notes: list[str] = field(default_factory=list)

    @property
    def invalid_rows(self) -> int:
        return len({p.row for p in self.invalid})

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["invalid_rows"] = self.invalid_rows
        return out


# --------------------------------------------------------------------------- reading


@dataclass
class SourceRow:
    row: int
    data: Any
    """The parsed row (usually a dict), or None when it could not be parsed."""
    location: str | None = None
    error: str | None = None
    """Why the row could not be parsed at all."""
    split: str | None = None
    """For a `datasets` folder with splits: the split, and `index` the row's index within it."""
    index: int | None = None

    @property
    def key(self) -> str:
        """Where the row is in its source, independent of which splits were imported."""
        return f"{self.split}/{self.index}" if self.split is not None else str(self.row)


class _BeyondLimits(ValueError):
    """Well-formed JSON that jamii will not read: nested too deep, or a number too long.
    Its message completes "the line's JSON ..." / "The <field>'s JSON ..."."""


def _loads(text: str) -> Any:
    """json.loads, raising _BeyondLimits instead of RecursionError, a plain ValueError, or
    for nesting deeper than MAX_JSON_DEPTH; malformed JSON raises JSONDecodeError as usual."""
    try:
        value = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except RecursionError:
        raise _BeyondLimits(_NESTED) from None
    except (json.JSONDecodeError, _BeyondLimits):
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise _BeyondLimits(_LONG_NUMBER) from None
    if _depth_over(value, MAX_JSON_DEPTH):
        raise _BeyondLimits(_NESTED)
    return value


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object that names a key twice would silently keep the last value: refuse it."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _BeyondLimits(f"names the key {twice!r} twice: keep one of the two values")
    return found


def _depth_over(value: Any, limit: int) -> bool:
    """True when `value` nests lists and dicts more than `limit` levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, (list, dict)):
            if depth > limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))
    return False


_NESTED = (f"is nested more than {MAX_JSON_DEPTH} levels deep (arrays or objects inside each "
           f"other): jamii reads at most {MAX_JSON_DEPTH} levels; flatten it")
_LONG_NUMBER = ("holds a number of more than 4,300 digits, which Python refuses to read: write "
                "it as text in quotes")


def _text_encoding(path: Path) -> str:
    """The encoding to read a text file with: UTF-8, or UTF-16/32 when a byte-order mark says so.

    Excel's "Unicode text" export is UTF-16 with a byte-order mark: that file is unambiguous,
    so it is read as it is. Raises SourceError for what is not text at all: a zip archive (an
    Excel workbook renamed .csv) or a file full of zero bytes (UTF-16 without a byte-order
    mark, or a binary file), where reading on would only produce misleading row messages.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"PK\x03\x04"):
        raise SourceError(
            f"{path.name} is a zip archive, not text: an Excel or LibreOffice workbook saved under "
            f"a {path.suffix} name? Open it and save it as 'CSV UTF-8' (or export JSON lines).")
    zeros = head.count(0)
    if head and zeros * 4 >= len(head):
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > 4 * min(even, odd):  # zeros on one side of each pair: UTF-16
            raise SourceError(
                f"{path.name} is UTF-16 text without a byte-order mark: save it as UTF-8 ('CSV "
                "UTF-8' in Excel, 'UTF-8' in a text editor) and import it again.")
        raise SourceError(f"{path.name} is not a text file ({zeros:,} zero bytes in its first "
                          f"{len(head):,}): export the data as UTF-8 CSV, TSV or JSON lines.")
    return "utf-8-sig"


def read_rows(path: str | Path, *, split: str | None = None) -> Iterator[SourceRow]:
    """Yield the rows of a file or `datasets` folder, numbered from 1, never raising per row.

    Bytes that are not UTF-8 become U+FFFD, which `checks.check_text` reports on the row
    that holds them; a file with a UTF-16 or UTF-32 byte-order mark is read in that encoding.
    A source that cannot be read at all raises SourceError.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"No file or folder at {path}: check the path.")
    if path.is_dir():
        yield from _read_datasets(path, split)
        return
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceError(
            f"Cannot tell the format of {path.name} from its extension '{path.suffix}': use .csv, "
            ".tsv, .jsonl, .json or .parquet, or a folder saved with datasets' save_to_disk.")
    if fmt in ("csv", "tsv"):
        yield from _read_delimited(path, "\t" if fmt == "tsv" else ",")
    elif fmt == "jsonl":
        yield from _read_jsonl(path)
    elif fmt == "json":
        yield from _read_json(path)
    else:
        yield from _read_parquet(path)


def _read_delimited(path: Path, delimiter: str) -> Iterator[SourceRow]:
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    encoding = _text_encoding(path)
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        # strict: a quote left open makes the reader fail at the end of the file instead of
        # silently reading every later line into one value
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise SourceError(f"{path.name} is empty: it needs a header line and rows.") from None
        except csv.Error as exc:
            raise SourceError(f"{path.name} could not be read as {_kind_name(delimiter)}: "
                              f"{_csv_reason(exc, 1, reader.line_num, delimiter)}") from None
        header = [h.strip() for h in header]
        if not any(header):
            raise SourceError(f"{path.name} has an empty first line: it must name the columns.")
        if any("\ufffd" in h for h in header):
            raise SourceError(
                f"{path.name} is not UTF-8 text: its header line reads "
                f"{delimiter.join(header)[:120]!r}. Save the file as "
                "UTF-8 ('CSV UTF-8' in Excel) and import it again.")
        places: dict[str, list[int]] = {}
        for number, name in enumerate(header, start=1):
            if name:
                places.setdefault(name, []).append(number)
        twice = {name: at for name, at in places.items() if len(at) > 1}
        if twice:
            listed = "; ".join(f"'{name}' (columns {', '.join(map(str, at))})"
                               for name, at in twice.items())
            raise SourceError(
                f"{path.name} names the same column more than once in its header: {listed}. "
                "Rename the columns so each name is used once; jamii cannot tell which one "
                "you mean.")
        n, last_line = 0, reader.line_num
        while True:
            start = last_line + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                n += 1
                last_line = reader.line_num
                yield SourceRow(n, None, f"line {start}",
                                _csv_reason(exc, start, reader.line_num, delimiter))
                continue
            last_line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue  # blank line
            n += 1
            location = f"line {start}"
            if len(values) > len(header):
                yield SourceRow(n, None, location,
                                f"the row has {len(values)} values but the header names "
                                f"{len(header)} columns: quote values that contain "
                                f"'{_sep_name(delimiter)}'.")
                continue
            data = dict(zip(header, values))
            if len(values) < len(header):
                for name in header[len(values):]:
                    data[name] = None
            yield SourceRow(n, data, location)


def _csv_reason(exc: csv.Error, start: int, end: int, delimiter: str) -> str:
    """The csv module's error, said so that the person fixing the file knows where and what."""
    message = str(exc)
    if "unexpected end of data" in message:
        return (f"a quote (\") opened on line {start} is never closed, so everything up to the "
                f"end of the file (line {end}) was read as one value: close the quote, and write "
                "a quote inside a value as two (\"\").")
    if "expected after" in message:
        return (f"on line {end} a closing quote (\") is followed by more text before the next "
                f"'{_sep_name(delimiter)}': put the whole value in quotes and write a quote "
                "inside it as two (\"\").")
    if "field larger than field limit" in message:
        return (f"a value starting on line {start} is longer than {_CSV_FIELD_LIMIT:,} "
                "characters, usually because of a quote that is never closed: check the quotes.")
    return f"the line could not be read as {_kind_name(delimiter)} ({message})."


def _kind_name(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def _sep_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def _read_jsonl(path: Path) -> Iterator[SourceRow]:
    parsed_any = False
    first_error: tuple[int, str] | None = None
    pending: list[SourceRow] = []
    encoding = _text_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="\n") as fh:
        n = 0
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            n += 1
            try:
                data = _loads(line)
            except _BeyondLimits as exc:
                data = exc
            except json.JSONDecodeError as exc:
                row = SourceRow(n, None, f"line {lineno}",
                                f"the line is not valid JSON ({exc.msg} at column {exc.colno}).")
                if not parsed_any:
                    first_error = first_error or (lineno, exc.msg)
                    pending.append(row)  # hold until we know the file is JSON lines at all
                    continue
                yield row
                continue
            if not parsed_any:
                parsed_any = True
                yield from pending
                pending.clear()
            if isinstance(data, _BeyondLimits):
                yield SourceRow(n, None, f"line {lineno}", f"the line's JSON {data}.")
                continue
            if not isinstance(data, dict):
                yield SourceRow(n, None, f"line {lineno}",
                                f"line {lineno} is {_json_word(data)}, not an object: each line "
                                "must be one JSON object with named fields, such as "
                                '{"prompt": "...", "response": "..."}.')
                continue
            yield SourceRow(n, data, f"line {lineno}")
    if not parsed_any:
        if first_error is None:
            raise SourceError(f"{path.name} is empty: it needs one JSON object per line.")
        raise SourceError(f"{path.name} is not JSON lines: line {first_error[0]} is not valid JSON "
                          f"({first_error[1]}). Write one JSON object per line.")


def _read_json(path: Path) -> Iterator[SourceRow]:
    text = path.read_bytes().decode(_text_encoding(path), errors="replace").removeprefix("\ufeff")
    try:
        data = _loads(text)
    except _BeyondLimits as exc:
        raise SourceError(f"The JSON in {path.name} {exc}.") from None
    except json.JSONDecodeError:
        yield from _read_jsonl(path)  # many ".json" files are JSON lines
        return
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            data = lists[0]
    if not isinstance(data, list):
        raise SourceError(f"{path.name} is one JSON {_type_word(data)}: give a JSON list of "
                          "objects, or one object per line (.jsonl).")
    for i, value in enumerate(data, start=1):
        if isinstance(value, dict):
            yield SourceRow(i, value, f"index {i - 1}")
        else:
            yield SourceRow(i, None, f"index {i - 1}",
                            f"the entry is {_json_word(value)}, not an object with named "
                            "fields.")


def _json_word(value: Any) -> str:
    """"a JSON array", "a JSON string"...: what a JSON value is, in JSON's own words."""
    return {"list": "a JSON array", "text": "a JSON string", "null": "JSON null",
            "number": "a JSON number", "object": "a JSON object"}.get(_type_word(value),
                                                                   "JSON true/false")


def _type_word(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else "value"


def _read_parquet(path: Path) -> Iterator[SourceRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path.name} could not be read as parquet: {exc}.") from None
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=2048):
            for data in batch.to_pylist():
                n += 1
                yield SourceRow(n, data)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            f"{path.name} could not be read past row {n} as parquet: {exc}.") from None


def _read_datasets(path: Path, split: str | None) -> Iterator[SourceRow]:
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        if (path / "state.json").exists() or (path / "dataset_dict.json").exists():
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(str(path))
    except Exception as exc:  # noqa: BLE001 - datasets raises many types; the message counts
        raise SourceError(
            f"The folder {path.name} could not be loaded as a datasets dataset "
            f"({type(exc).__name__}: {exc}). Import its files one by one instead (CSV, JSONL "
            "or parquet).") from None
    if isinstance(loaded, datasets.DatasetDict):
        if split is not None:
            if split not in loaded:
                raise SourceError(f"The dataset in {path.name} has no split '{split}': it has "
                                  f"{', '.join(loaded)}.")
            parts = [(split, loaded[split])]
        else:
            parts = list(loaded.items())
    else:
        if split is not None and split != str(loaded.split or split):
            raise SourceError(
                f"The dataset in {path.name} has one split ({loaded.split}), not '{split}'.")
        parts = [(None, loaded)]
    n = 0
    for name, ds in parts:
        ds = _undecoded_audio(ds)
        for index, data in enumerate(ds):
            n += 1
            location = f"split {name}, index {index}" if name is not None else f"index {index}"
            yield SourceRow(n, data, location, split=name,
                            index=index if name is not None else None)


def _undecoded_audio(ds):
    """Audio columns as {"bytes", "path"}: jamii checks and stores the file itself."""
    import datasets

    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Audio) and feature.decode:
            ds = ds.cast_column(name, datasets.Audio(decode=False))
    return ds


def source_sha256(path: str | Path) -> str:
    """sha256 of a file, or of a folder's file names and their hashes (sorted)."""
    path = Path(path)
    if path.is_file():
        return _file_sha256(path)
    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts) or f.name.startswith("cache-"):
            continue
        digest.update(f"{rel}\0{_file_sha256(f)}\n".encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def lookup(row: Any, path: str) -> Any:
    """The value at `path` in a row: a column name, or a dotted path into nested objects and
    lists (`translation.en`, `answers.text.0`). A column whose name contains dots wins."""
    if isinstance(row, dict) and path in row:
        return row[path]
    current = row
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


# --------------------------------------------------------------------------- judging rows


def kind_fields(kind: str) -> tuple[str, ...]:
    """Fields a row of this kind can map, in the order a user reads them."""
    fields = [*item_rules.TEXT_FIELDS[kind], *item_rules.LIST_FIELDS[kind]]
    if kind == "prompt_response":
        fields.append("task_type")
    if kind == "contextual":
        fields.append("rubric")
    if kind == "speech":
        fields.append("audio")
    return (*fields, *CONTEXT_FIELDS)


@dataclass
class _Settings:
    campaign: Any
    kind: str
    mapping: dict[str, str]
    language: str | None
    dialect: str | None
    domain: str | None
    task_type: str | None
    rubric: list[Any] | None
    base_dir: Path


@dataclass
class _Valid:
    row: int
    source: SourceRow
    language: str
    dialect: str | None
    domain: str | None
    content: dict[str, Any]
    digest: str
    audio: bytes | None = None


def _missing(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, float) and math.isnan(value))


def _judge(src: SourceRow, cfg: _Settings, tag_cache: dict[str, str | Exception]) -> tuple[
        _Valid | None, list[RowProblem], list[RowProblem]]:
    """A row's cleaned item, or its problems; and its warnings."""
    problems: list[RowProblem] = []

    def problem(field_name: str | None, reason: str, code: str, column: str | None = None) -> None:
        if field_name is not None and column is None:
            base = field_name.split("[")[0].split(".")[0]
            column = cfg.mapping.get(base, base)
        problems.append(RowProblem(src.row, field_name, reason, column, src.location, code))

    if src.error is not None:
        problem(None, src.error, "unreadable_row")
        return None, problems, []
    row = src.data

    def get(name: str) -> Any:
        return lookup(row, cfg.mapping.get(name, name))

    # language, dialect, domain
    raw_language = get("language")
    if _missing(raw_language) or (isinstance(raw_language, str) and not raw_language.strip()):
        raw_language = cfg.language
    language = None
    if raw_language is None:
        problem("language", "No language tag: add a language column, or give the file's language "
                "with --language.", "empty")
    elif not isinstance(raw_language, str):
        problem("language", f"The language must be a BCP-47 tag written as text, not "
                f"{_type_word(raw_language)}.", "wrong_type")
    else:
        if raw_language not in tag_cache:
            unfit = checks.check_label("language", raw_language)
            try:
                tag_cache[raw_language] = (LanguageTagError(unfit[0].message.rstrip("."))
                                           if unfit else normalise_tag(raw_language))
            except LanguageTagError as exc:
                tag_cache[raw_language] = exc
        found = tag_cache[raw_language]
        if isinstance(found, Exception):
            problem("language", f"{str(found)[:1].upper()}{str(found)[1:]}.", "bad_tag")
        elif found not in cfg.campaign.languages:
            problem("language", f"This campaign collects {', '.join(cfg.campaign.languages)}, "
                    f"not {found}: import this row into a campaign for {found}, or fix its tag.",
                    "wrong_language")
        else:
            language = found
    dialect = _context_value(get("dialect"), cfg.dialect, "dialect", problem)
    domain = _context_value(get("domain"), cfg.domain, "domain", problem)
    unfit = item_rules.context_problems(dialect=dialect, domain=domain)
    for p in unfit:
        problem(p.field, p.message, p.code)
    unfit_fields = {p.field for p in unfit}  # not quoted back: they hold controls or markup
    if language and dialect and "dialect" not in unfit_fields:
        dialects = cfg.campaign.dialects.get(language) or []
        if dialects and dialect not in dialects and not dialect.startswith("other:"):
            problem("dialect", f"'{dialect}' is not one of this campaign's {language} dialects "
                    f"({', '.join(dialects)}); write 'other: <name>' for another.", "unknown_value")
    if (domain and "domain" not in unfit_fields and cfg.campaign.domains
            and domain not in cfg.campaign.domains):
        problem("domain", f"'{domain}' is not one of this campaign's domains "
                f"({', '.join(cfg.campaign.domains)}).", "unknown_value")

    # content
    content: dict[str, Any] = {}
    for name in item_rules.TEXT_FIELDS[cfg.kind]:
        value = get(name)
        if not _missing(value):
            content[name] = value
        else:
            content[name] = None
    for name in item_rules.LIST_FIELDS[cfg.kind]:
        value = get(name)
        if _missing(value):
            continue
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                parsed = _loads(value)
            except _BeyondLimits as exc:
                problem(name, f"The {name.replace('_', ' ')}' JSON {exc}.", "json_limit")
                continue
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                value = parsed
        if isinstance(value, tuple):
            value = list(value)
        content[name] = value
    if cfg.kind == "prompt_response":
        value = get("task_type")
        if _missing(value) or value == "":
            value = cfg.task_type
        unfit = checks.check_label("task_type", value) if isinstance(value, str) else []
        for p in unfit:  # said here, so that the value is not quoted back with its controls
            problem("task_type", p.message, p.code)
        if value is not None and not unfit:
            content["task_type"] = value.strip() if isinstance(value, str) else value
    if cfg.kind == "contextual":
        value = get("rubric")
        if _missing(value) or value == "":
            value = cfg.rubric
        if isinstance(value, str):
            try:
                value = _loads(value)
            except _BeyondLimits as exc:
                problem("rubric", f"The rubric's JSON {exc}.", "json_limit")
                value = _MISSING
            except json.JSONDecodeError as exc:
                problem("rubric", f"The rubric is not valid JSON ({exc.msg} at character "
                        f"{exc.pos + 1}): write it as a JSON list of criteria, each with "
                        "a name and anchors.", "bad_json")
                value = _MISSING
        if value is not _MISSING:
            content["rubric"] = value
    audio = None
    if cfg.kind == "speech":
        audio = _audio(get("audio"), cfg, problem, content)

    cleaned = item_rules.clean_content(cfg.kind, content)
    explained = {q.field for q in problems}
    for p in cleaned.blocking:
        if p.field in explained:
            continue  # the importer already said why (bad JSON, unreadable audio)
        problem(p.field, p.message, p.code)
    if problems:
        return None, problems, []
    warnings = []
    for name, text in item_rules.outgoing_texts(cfg.kind, cleaned.content, dialect=dialect,
                                                domain=domain).items():
        for p in checks.pii_problems(name, text):
            base = name.split("[")[0].split(".")[0]
            warnings.append(RowProblem(src.row, name, p.message, cfg.mapping.get(base, base),
                                       src.location, p.code))
    digest = item_rules.content_sha256(cfg.kind, cleaned.content)
    item = _Valid(src.row, src, language, dialect, domain, cleaned.content, digest, audio)
    return item, [], warnings


def _context_value(value: Any, default: str | None, name: str, problem) -> str | None:
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return default or None
    if not isinstance(value, str):
        problem(name, f"The {name} must be text, not {_type_word(value)}.", "wrong_type")
        return None
    return checks.normalise_text(value)


def _audio(value: Any, cfg: _Settings, problem, content: dict[str, Any]) -> bytes | None:
    """Read and check a speech row's audio: a path (relative to the source) or {bytes, path}."""
    data = None
    if _missing(value):
        problem("audio", "No audio: map the column holding the clip's file path with --map "
                "audio=COLUMN.", "missing")
        return None
    if isinstance(value, dict):
        data = value.get("bytes")
        value = value.get("path") if data is None else None
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            problem("audio", "The audio's bytes must be the clip's file content, not "
                    f"{_type_word(data)}.", "wrong_type")
            return None
    if data is None:
        if not isinstance(value, str) or not value.strip():
            problem("audio", "The audio must be a file path or a datasets Audio value.",
                    "wrong_type")
            return None
        file = Path(value)
        if not file.is_absolute():
            file = cfg.base_dir / file
        if any(p.code in (*_UNPRINTABLE, "invisible", "multiline")
               for p in checks.check_label("audio", value, max_chars=4096)):
            problem("audio", "The audio path contains control, direction or invisible "
                    "characters: write the clip's file path as plain text.", "bad_path")
            return None
        try:
            data = file.read_bytes()
        except (OSError, ValueError):
            problem("audio", f"No audio file at {value} (paths are read relative to the imported "
                    "file's folder).", "missing_file")
            return None
    found = checks.audio_problems(bytes(data))
    for p in found:
        problem("audio", p.message, p.code)
    if found:
        return None
    info = checks.inspect_audio(bytes(data))
    content.update(audio_sha256=hashlib.sha256(data).hexdigest(),
                   duration_s=round(info.duration_s, 3), sample_rate=info.sample_rate)
    return bytes(data)


# --------------------------------------------------------------------------- importing


def import_file(store: Store, path: str | Path, *, campaign: str | int, kind: str,
                mapping: dict[str, str] | None = None, language: str | None = None,
                dialect: str | None = None, domain: str | None = None,
                task_type: str | None = None, rubric: list[Any] | None = None,
                accepted: bool = False, skip_invalid: bool = False, author: str | None = None,
                split: str | None = None, dry_run: bool = False,
                source_license: str | None = None, batch_size: int = 500,
                actor_id: Any = None) -> ImportReport:
    """Validate every row of `path`, then store the valid ones (see the module docstring).

    Args:
        store: an open `jamii.core.store.Store`.
        path: a CSV, TSV, JSONL, JSON or parquet file, or a `datasets` folder.
        campaign: the campaign's slug or id.
        kind: prompt_response, contextual or speech.
        mapping: item field -> column or dotted path; unmapped fields read the same-named column.
        language, dialect, domain: defaults for rows whose own column is empty or absent.
        task_type: default task type of prompt_response rows.
        rubric: default rubric (list of criteria) of contextual rows.
        accepted: store the rows as already validated (no review, no compensation entries).
        skip_invalid: import the valid rows even when others are invalid.
        author: pseudonym of an existing contributor to credit; default an "import-..." one.
        split: for a `datasets` folder with several splits, import only this one.
        dry_run: judge every row, write nothing.
        source_license: the licence under which the source may be republished (for example
            cc-by-sa-4.0). Imported rows have no contributor consent behind them, so only rows
            imported with a licence can ever be released; without one they serve evaluation
            inside the community only.
        actor_id: who imports, for the store's audit trail; default the operator (the command
            line's actor, `jamii.core.store.OPERATOR`).

    Raises:
        SourceError: the source or the options cannot be used at all (one message).
        StoreError: unknown campaign or author (from the store).
    """
    mapping = dict(mapping or {})
    if actor_id is None:
        from jamii.core.store import OPERATOR

        actor_id = OPERATOR
    _check_options(path, campaign=campaign, kind=kind, mapping=mapping, language=language,
                   dialect=dialect, domain=domain, task_type=task_type, author=author,
                   split=split, source_license=source_license)
    path = Path(path)
    if kind not in ITEM_KINDS:
        raise SourceError(f"'{kind}' is not an item kind: use one of {', '.join(ITEM_KINDS)}.")
    found = store.campaign(campaign)
    if kind not in found.item_kinds:
        raise SourceError(f"The campaign '{found.slug}' does not collect {kind} items: it collects "
                          f"{', '.join(found.item_kinds)}.")
    allowed = kind_fields(kind)
    unknown = [f for f in mapping if f not in allowed]
    if unknown:
        raise SourceError(f"--map names {', '.join(repr(f) for f in unknown)}, not a field of "
                          f"{kind} items: map {', '.join(allowed)}.")
    if language is not None:
        try:
            language = normalise_tag(language)
        except LanguageTagError as exc:
            raise SourceError(f"--language: {exc}.") from None
        if language not in found.languages:
            raise SourceError(f"--language {language}: the campaign '{found.slug}' collects "
                              f"{', '.join(found.languages)}.")
    if domain and found.domains and domain not in found.domains:
        raise SourceError(f"--domain '{domain}' is not one of the campaign's domains "
                          f"({', '.join(found.domains)}).")
    dialects = (found.dialects.get(language) or []) if language else []
    if dialect and dialects and dialect not in dialects and not dialect.startswith("other:"):
        raise SourceError(f"--dialect '{dialect}' is not one of the campaign's {language} dialects "
                          f"({', '.join(dialects)}); write 'other: <name>' for another.")
    if task_type is not None and task_type not in TASK_TYPES:
        raise SourceError(f"--task-type '{task_type}' is not a task type: use one of "
                          f"{', '.join(TASK_TYPES)}.")
    if rubric is not None and kind != "contextual":
        raise SourceError("A rubric applies to contextual items only.")
    if task_type is not None and kind != "prompt_response":
        raise SourceError("A task type applies to prompt_response items only.")
    if source_license is not None and not source_license.strip():
        raise SourceError("--source-license is empty: name the licence the source is published "
                          "under, for example cc-by-sa-4.0.")
    source_license = source_license.strip() if source_license else None
    author_person = store.contributor_by_pseudonym(author) if author else None

    rows = read_rows(path, split=split)
    first = next(rows, None)  # read errors of the whole file surface before any hashing
    digest = source_sha256(path)
    report = ImportReport(source=path.name, source_sha256=digest, campaign=found.slug, kind=kind,
                          dry_run=dry_run, accepted=accepted)
    cfg = _Settings(found, kind, mapping, language, dialect, domain, task_type, rubric,
                    path if path.is_dir() else path.parent)
    valid: list[_Valid] = []
    seen: dict[str, int] = {}
    tag_cache: dict[str, str | Exception] = {}
    seen_paths: dict[str, bool] = {mapping.get(f, f): False for f in allowed}
    all_rows = [] if first is None else [first]

    def rows_iter():
        yield from all_rows
        yield from rows

    parsed_rows = 0
    for src in rows_iter():
        report.rows_read += 1
        if src.data is not None:
            parsed_rows += 1
            for column, hit in seen_paths.items():
                if not hit and lookup(src.data, column) is not _MISSING:
                    seen_paths[column] = True
        item, problems, warnings = _judge(src, cfg, tag_cache)
        if item is not None and item.digest in seen:
            problems = [RowProblem(src.row, None, f"exact duplicate of row {seen[item.digest]}: "
                                   "delete one of them.", None, src.location, "duplicate_row")]
            item = None
        if item is not None:
            seen[item.digest] = item.row
            valid.append(item)
            report.warnings += warnings
        report.invalid += problems
    if report.rows_read == 0:
        raise SourceError(f"{path.name} has no rows to import.")
    if parsed_rows == 0:
        # no row could be read at all: its reasons say what is wrong, not "no such column"
        report.refused = not skip_invalid
        return report
    never = [f"{f} <- {column}" for f, column in mapping.items() if not seen_paths[column]]
    if never:
        raise SourceError(f"The mapped column(s) {'; '.join(never)} appear in no row of "
                          f"{path.name}. {_columns_hint(path, split)}")
    absent = [f for f in _required_fields(kind, rubric) if not seen_paths[mapping.get(f, f)]]
    if absent:
        raise SourceError(f"{path.name} has no column for {', '.join(absent)}: map the column that "
                          f"holds each with --map {absent[0]}=COLUMN (dotted paths reach nested "
                          f"fields). {_columns_hint(path, split)}")
    report.notes.append("Imported rows carry no consent record: the organiser answers for the "
                        "source's licence and for the right to publish it.")
    if report.invalid and not skip_invalid:
        report.refused = True
        return report
    if dry_run or not valid:
        return report
    person = author_person or store.import_author(_import_pseudonym(path.name), source=path.name,
                                                  actor_id=actor_id)
    report.author = person.pseudonym
    items = []
    for item in valid:
        if item.audio is not None:
            store.save_audio(item.audio)
        items.append({
            "kind": kind, "language": item.language, "dialect": item.dialect,
            "domain": item.domain, "content": item.content,
            "client_key": _client_key(digest, item.source.key),
            "provenance": _provenance(path.name, digest, item.source, source_license),
        })
    outcome = store.submit_items_bulk(campaign_id=found.id, author_id=person.id, items=items,
                                      accepted=accepted, batch_size=batch_size,
                                      actor_id=actor_id)
    report.imported = len(outcome.created)
    report.already_present = len(outcome.present)
    return report


_OPTION_NAMES = {"campaign": "--campaign", "kind": "--kind", "language": "--language",
                 "dialect": "--dialect", "domain": "--domain", "task_type": "--task-type",
                 "author": "--author", "split": "--split", "source_license": "--source-license"}
_STORED_OPTIONS = ("dialect", "domain", "source_license")
"""Options whose value is stored with every row: they get every label check."""
_UNPRINTABLE = ("control_chars", "invalid_utf8", "bidi_controls")


def _check_options(path: Any, *, mapping: dict[str, str], **options: Any) -> None:
    """Refuse options and a file name that no row could fix, before the store is asked anything.

    A NUL or other control character would reach the store (PostgreSQL refuses NUL in text)
    or the terminal; stored options (dialect, domain, licence) get the label checks rows get.
    """
    name = str(path)
    if "\x00" in name:
        raise SourceError("The file path contains a NUL character: give the path as plain text.")
    shown = Path(name).name
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        raise SourceError(f"The file name {shown.encode('utf-8', 'replace').decode()!r} is not "
                          "valid UTF-8: rename the file with plain letters and digits.") from None
    if any(p.code in _UNPRINTABLE for p in checks.check_text("file name", shown, required=False)):
        raise SourceError(f"The file name {shown!r} contains control or direction characters: "
                          "rename the file with plain letters and digits.")
    for key, value in options.items():
        if not isinstance(value, str):
            continue
        found = checks.check_label(key, value) if key in _STORED_OPTIONS else [
            p for p in checks.check_text(key, value, required=False) if p.code in _UNPRINTABLE]
        if found:
            raise SourceError(f"{_OPTION_NAMES[key]}: {found[0].message}")
    for field_name, column in mapping.items():
        if any(p.code in _UNPRINTABLE for p in checks.check_text("column", column, required=False)):
            raise SourceError(f"--map {field_name}={column!r}: the column name contains control "
                              "or direction characters; write the column's name as in the file.")


def _import_pseudonym(name: str) -> str:
    return "import-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def _client_key(source_digest: str, row_key: str) -> str:
    return "import:" + hashlib.sha256(f"{source_digest}:{row_key}".encode()).hexdigest()


def _provenance(name: str, digest: str, src: SourceRow,
                source_license: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"source": "import", "file": name, "sha256": digest, "row": src.row}
    if source_license:
        out["license"] = source_license
    if src.split is not None:
        out.update(split=src.split, index=src.index)
    return out


def _required_fields(kind: str, rubric: list[Any] | None) -> list[str]:
    """Fields every row of the kind needs: a file without their column has a mapping mistake."""
    out = [f for f, required in item_rules.TEXT_FIELDS[kind].items() if required]
    out += [f for f, required in item_rules.LIST_FIELDS[kind].items() if required]
    if kind == "contextual" and rubric is None:
        out.append("rubric")
    if kind == "speech":
        out.append("audio")
    return out


def _columns_hint(path: Path, split: str | None) -> str:
    """The columns (and nested paths) of the source's first row, to map from."""
    try:
        first = next((r for r in read_rows(path, split=split) if isinstance(r.data, dict)), None)
    except SourceError:
        first = None
    if first is None:
        return ""
    paths = list(_paths(first.data))
    more = " ..." if len(paths) > _MAX_LISTED_COLUMNS else ""
    shown = ", ".join(paths[:_MAX_LISTED_COLUMNS]) + more
    return f"Columns in the file: {shown}."


def _paths(data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from _paths(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"

