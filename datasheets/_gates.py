"""The release gates that judge single items and the set of items: PII, duplicates, languages.

Each gate returns what it found instead of raising, so `build_release` can refuse once with
every reason at the same time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH
from datasketch.minhash import _fmix  # the finaliser of the affine32 scheme (see `Deduper`)

from jamii.core import checks
from jamii.core.items import item_texts
from jamii.core.langtags import LanguageTagError, iso639, normalise_tag

# --------------------------------------------------------------------------- text form


def nfc(value: Any) -> Any:
    """Every string inside `value` in NFC: rows stored before normalisation was enforced, or
    imported around it, are published in the one form that hashes and compares equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: nfc(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- personal data

_DIGIT = re.compile(r"\d")
_FIELD_GAP = "\n\n"


def _may_hold_pii(text: str) -> bool:
    """Fast path: `checks.find_pii` finds only emails (an @) and numbers of five digits or more.

    Most item texts have neither, and skipping them keeps the scan of a million items inside
    the time budget; any text that could hold a hit is scanned in full.
    """
    return "@" in text or "\uff20" in text or len(_DIGIT.findall(text)) >= 5


@dataclass(frozen=True)
class PiiFinding:
    field: str
    kind: str
    """"email", "phone" or "id_number"."""
    masked: str
    """The hit with its middle hidden, so a log of refusals does not repeat it."""


def _mask(text: str) -> str:
    if len(text) <= 4:
        return "*" * len(text)
    keep = max(1, len(text) // 5)
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]


def scan_pii(texts: dict[str, str], regions: Sequence[str] = ()) -> list[PiiFinding]:
    """Scan every text of an item in one `find_pii` call, mapping each hit back to its field."""
    # only the fields that could hold a hit are scanned, each once, in one call
    fields = [(k, v) for k, v in texts.items() if isinstance(v, str) and v and _may_hold_pii(v)]
    if not fields:
        return []
    joined = _FIELD_GAP.join(v for _, v in fields)
    hits = checks.find_pii(joined, regions)
    if not hits:
        return []
    starts, pos = [], 0
    for name, value in fields:
        starts.append((pos, pos + len(value), name))
        pos += len(value) + len(_FIELD_GAP)
    found = []
    for hit in hits:
        name = next((n for s, e, n in starts if s <= hit.start < e), fields[-1][0])
        found.append(PiiFinding(name, hit.kind, _mask(hit.text)))
    return found


# --------------------------------------------------------------------------- duplicates

_WORD = re.compile(r"\w+")
NEAR_THRESHOLD = 0.7
"""Estimated Jaccard similarity of word shingles above which two items are near duplicates.

Word unigrams and bigrams: changing one word in a fifteen-word item keeps it above 0.7;
two different questions on the same topic stay well below."""
NUM_PERM = 64
SEED = 1


DEDUP_FIELDS = {
    "prompt_response": ("prompt", "response"),
    "contextual": ("scenario", "question", "reference_answers"),
    "speech": ("transcript",),
}
"""What makes two items the same item. Rubrics are left out: most items share a standard one."""


def dedup_text(kind: str, content: dict[str, Any]) -> str:
    parts = []
    for name in DEDUP_FIELDS.get(kind, ()):
        value = content.get(name)
        parts.extend(value if isinstance(value, list) else [value] if value else [])
    return "\n".join(p for p in parts if isinstance(p, str))


def _tokens(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text).casefold())


def shingles(text: str) -> list[bytes]:
    """Word unigrams and bigrams, case-folded, punctuation and spacing ignored."""
    words = _tokens(text)
    grams = set(words)
    grams.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return [g.encode("utf-8") for g in grams] or [b""]


def reference_minhash(text: str) -> MinHash:
    """The datasketch MinHash of a text; `Deduper` computes exactly this, many at once."""
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32", hashfunc=xxhash.xxh32_intdigest)
    m.update_batch(shingles(text))
    return m


def xxhash_rows(block: np.ndarray) -> list[int]:
    """A 64-bit key per row of a uint32 block: the row's bytes hashed with xxh64."""
    raw = np.ascontiguousarray(block).view(np.dtype((np.void, block.shape[1] * 4))).ravel()
    return [xxhash.xxh3_64_intdigest(v.tobytes()) for v in raw]


class Deduper:
    """Exact and near duplicates within one partition (a kind and a language), first one wins.

    Exact duplicates share their case-folded word sequence. Near duplicates are found with
    datasketch MinHash signatures (affine32 scheme, xxh32 shingle hashes) and LSH banding with
    the band count and width `datasketch.MinHashLSH` chooses for the threshold; a candidate
    counts only when its estimated Jaccard similarity reaches the threshold. The signatures
    of a whole batch are computed in one numpy step with datasketch's own permutations and
    finaliser, equal to `reference_minhash` item by item (tested): building one MinHash object
    and querying MinHashLSH per item costs about 40 µs, which a million-item release cannot
    afford, and MinHashLSH keeps about 1.6 kB per indexed item.
    """

    def __init__(self, threshold: float = NEAR_THRESHOLD):
        proto = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
        self._a, self._b = (np.asarray(p, dtype=np.uint32).reshape(1, -1) for p in proto.permutations)
        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.bands, self.rows = lsh.b, lsh.r
        self.threshold = threshold
        self._partition: object = None
        self._reset()

    def _reset(self) -> None:
        self._exact: dict[int, str] = {}
        self._buckets: list[dict[int, int]] = [{} for _ in range(self.bands)]
        self._ids: list[str] = []
        self._sigs = np.empty((1024, NUM_PERM), dtype=np.uint32)
        self._count = 0

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures (len(texts) x NUM_PERM, uint32) of many texts at once."""
        hashes: list[int] = []
        offsets: list[int] = []
        h32 = xxhash.xxh32_intdigest
        for text in texts:
            offsets.append(len(hashes))
            hashes.extend(h32(s) for s in shingles(text))
        hv = _fmix(np.asarray(hashes, dtype=np.uint32).reshape(-1, 1), 32)
        out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
        step = 4096  # texts per numpy chunk, to bound the (shingles x permutations) matrix
        for lo in range(0, len(texts), step):
            hi = min(lo + step, len(texts))
            s, e = offsets[lo], offsets[hi] if hi < len(texts) else len(hashes)
            phv = hv[s:e] * self._a + self._b
            out[lo:hi] = np.minimum.reduceat(phv, np.asarray(offsets[lo:hi]) - s, axis=0)
        return out

    def check(self, partition: object, keys: Sequence[str], texts: Sequence[str]
              ) -> list[tuple[str, str] | None]:
        """For each text, None if kept, else ("exact" | "near", id of the earlier twin).

        Kept texts join the index; a new partition starts an empty index.
        """
        if partition != self._partition:
            self._partition = partition
            self._reset()
        sigs = self.signatures(texts)
        r = self.rows
        # one 64-bit key per band: the band's rows hashed together, in numpy
        band_keys = [
            xxhash_rows(sigs[:, b * r:(b + 1) * r]) for b in range(self.bands)
        ]
        band_keys = list(zip(*band_keys))
        verdicts: list[tuple[str, str] | None] = []
        if self._count + len(texts) > len(self._sigs):  # grow by doubling, not per batch
            grown = np.empty((max(2 * len(self._sigs), self._count + len(texts)), NUM_PERM),
                             dtype=np.uint32)
            grown[:self._count] = self._sigs[:self._count]
            self._sigs = grown
        exact_keys = [hash(tuple(_tokens(t))) for t in texts]
        for i, (key, text) in enumerate(zip(keys, texts)):
            exact = exact_keys[i]
            if exact in self._exact:
                verdicts.append(("exact", self._exact[exact]))
                continue
            twin = None
            for b, bk in enumerate(band_keys[i]):
                j = self._buckets[b].get(bk)
                if j is not None:
                    if np.count_nonzero(self._sigs[j] == sigs[i]) >= self.threshold * NUM_PERM:
                        twin = self._ids[j]
                        break
            if twin is not None:
                verdicts.append(("near", twin))
                continue
            index = self._count
            self._count += 1
            self._ids.append(key)
            self._sigs[index] = sigs[i]
            self._exact[exact] = key
            for b, bk in enumerate(band_keys[i]):
                self._buckets[b].setdefault(bk, index)
            verdicts.append(None)
        return verdicts


# --------------------------------------------------------------------------- languages


def language_problem(tag: str) -> str | None:
    """None when the tag is valid BCP-47 in its normal form and has an ISO 639 code."""
    try:
        if normalise_tag(tag) != tag:
            return f"language tag '{tag}' is not in its normal form ('{normalise_tag(tag)}')"
        iso639(tag)
    except LanguageTagError as exc:
        return str(exc)
    return None
