"""The release gates that judge single items and the set of items: PII, duplicates, languages.

Each gate returns what it found instead of raising, so `build_release` can refuse once with
every reason at the same time.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.minhash import _fmix  # the affine32 scheme's pre-mix (see `Deduper.signatures`)

from jamii.core import checks
from jamii.core.langtags import LanguageTagError, iso639, normalise_tag

# --------------------------------------------------------------------------- text form


def nfc(value: Any) -> Any:
    """Every string inside `value` in NFC: rows stored before normalisation was enforced, or
    imported around it, are published in the one form that hashes and compares equal."""
    if isinstance(value, str):
        # ASCII is always NFC, and is_normalized is a quick check in C: most texts skip the copy
        if value.isascii() or unicodedata.is_normalized("NFC", value):
            return value
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: nfc(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- personal data

_FIELD_GAP = "\n\n"


might_hold_pii = checks.might_hold_pii


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
    """Scan every text of an item in one `find_pii` call, mapping each hit back to its field.

    `might_hold_pii` first: most texts can hold no hit at all, and a million items are
    then skipped at the cost of one cheap test per text. Only the fields that could hold a hit
    are scanned, each once, in one call.
    """
    fields = [(k, v) for k, v in texts.items()
              if isinstance(v, str) and v and might_hold_pii(v)]
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
NUM_PERM = 32
"""Permutations per MinHash. 32 keeps `MinHashLSH` at 5 bands of 6 rows for the 0.7
threshold (datasketch's own choice), a fifth of the index work and memory of 128; the
estimate's standard error near 0.7 is about 0.08."""
SEED = 1
_MAX = np.uint32(0xFFFFFFFF)
_BIGRAM_MUL = np.uint32(0x9E3779B1)


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


def tokens(text: str) -> list[str]:
    """Words, case-folded, punctuation and spacing ignored (the text is NFC already)."""
    return _WORD.findall(text.casefold())


def word_hash(word: str) -> int:
    """A 32-bit hash of a word (blake2b, so it is the same in every process and run)."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=4).digest(), "little")


def shingle_hash(shingle: tuple[str, ...]) -> int:
    """The 32-bit hash of a word unigram or bigram: a bigram mixes its two words' hashes.

    `Deduper.signatures` computes the bigram mix in numpy for a whole batch at once."""
    if len(shingle) == 1:
        return word_hash(shingle[0])
    a, b = word_hash(shingle[0]), word_hash(shingle[1])
    return ((a * int(_BIGRAM_MUL)) & 0xFFFFFFFF) ^ b


def shingles(text: str) -> set[tuple[str, ...]]:
    """Word unigrams and bigrams of a text."""
    words = tokens(text)
    return {(w,) for w in words} | set(zip(words, words[1:]))


def reference_minhash(text: str) -> MinHash:
    """The datasketch MinHash of a text, item by item; `Deduper` computes exactly this in bulk."""
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32", hashfunc=shingle_hash)
    m.update_batch(shingles(text))
    return m


class _WordHashes(dict):
    """word -> `word_hash(word)`, computed once per distinct word."""

    def __missing__(self, word: str) -> int:
        if len(self) > 1_000_000:  # a bound on memory for very large vocabularies
            self.clear()
        value = self[word] = word_hash(word)
        return value


class Deduper:
    """Exact and near duplicates within one partition (a kind and a language), first one wins.

    Exact duplicates share the sha256 of their case-folded word sequence; they never reach the
    index. Near duplicates are found by MinHash LSH: each item's MinHash (datasketch's affine32
    scheme, word unigram and bigram shingles) is cut into the bands and rows datasketch's
    `MinHashLSH` chooses for the threshold; an earlier item sharing any band is a candidate,
    and counts only when its estimated Jaccard similarity (`MinHash.jaccard`'s share of equal
    values, for all candidates in one numpy step) reaches the threshold.

    The work is done a batch at a time in numpy: the signatures, with datasketch's own
    permutations and pre-mix, equal to `reference_minhash` item by item; and each band's bucket
    key, a 64-bit hash of its rows. The buckets are one dict per band (key -> item number, or a
    list of them). datasketch's per-item `update_batch`, `query` and `insert` compute the same
    things one item and one band at a time and cost several times more than the rest of a
    release; `test_band_index_finds_what_datasketch_finds` checks that the candidates agree.
    """

    def __init__(self, threshold: float = NEAR_THRESHOLD):
        proto = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
        self._perm_a, self._perm_b = (np.asarray(p, dtype=np.uint32).reshape(1, -1)
                                      for p in proto.permutations)
        self.threshold = threshold
        self.bands = MinHashLSH(threshold=threshold, num_perm=NUM_PERM).hashranges
        """(start, end) of each band in a signature, as datasketch chooses them."""
        self._words = _WordHashes()
        self._buf = np.empty((_STEP, NUM_PERM), dtype=np.uint32)
        self._partition: object = None
        self._reset()

    def _reset(self) -> None:
        self._exact: dict[bytes, str] = {}
        self._buckets: list[dict[int, int | list[int]]] = [{} for _ in self.bands]
        self._sigs = np.empty((1024, NUM_PERM), dtype=np.uint32)
        """Signatures of the kept items, by insertion number (the bucket values)."""
        self._ids: list[str] = []

    def signatures(self, texts: Sequence[str], words: Sequence[list[str]] | None = None
                   ) -> np.ndarray:
        """MinHash signatures (len(texts) x NUM_PERM, uint32) of many texts at once."""
        if words is None:
            words = [tokens(t) for t in texts]
        lens = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        out = np.full((len(words), NUM_PERM), _MAX, dtype=np.uint32)
        total = int(lens.sum())
        if not total:
            return out
        lookup = self._words.__getitem__
        raw = np.fromiter(map(lookup, chain.from_iterable(words)), dtype=np.uint32, count=total)
        uni = _fmix(raw, 32)
        ends = np.cumsum(lens)
        starts = ends - lens
        # the bigram at position j joins words j and j+1 of the same text; the last word of
        # each text starts none
        bi = np.empty_like(raw)
        bi[:-1] = (raw[:-1] * _BIGRAM_MUL) ^ raw[1:]
        bi = _fmix(bi, 32)
        last = np.zeros(total, dtype=bool)
        last[ends[lens > 0] - 1] = True
        nonempty = np.flatnonzero(lens)
        buf = self._buf
        lo = 0
        while lo < len(nonempty):
            first = int(starts[nonempty[lo]])
            # the texts whose words fit in one buffer (a longer text gets a buffer of its own)
            hi = int(np.searchsorted(ends[nonempty], first + _STEP, side="right"))
            hi = max(hi, lo + 1)
            rows = nonempty[lo:hi]
            s, e = first, int(ends[rows[-1]])
            offsets = starts[rows] - s
            phv = buf[:e - s] if e - s <= len(buf) else np.empty((e - s, NUM_PERM), np.uint32)
            np.multiply(uni[s:e, None], self._perm_a, out=phv)
            np.add(phv, self._perm_b, out=phv)
            sig = np.minimum.reduceat(phv, offsets, axis=0)
            np.multiply(bi[s:e, None], self._perm_a, out=phv)
            np.add(phv, self._perm_b, out=phv)
            phv[last[s:e]] = _MAX
            np.minimum(sig, np.minimum.reduceat(phv, offsets, axis=0), out=sig)
            out[rows] = sig
            lo = hi
        return out

    def band_keys(self, sigs: np.ndarray) -> list[list[int]]:
        """Each signature's bucket key in each band: its rows mixed into 64 bits (FNV-1a style,
        wrapping). Equal bands give equal keys; a rare collision only adds a candidate, which
        the signature check then refuses."""
        keys = np.zeros((len(sigs), len(self.bands)), dtype=np.uint64)
        for b, (start, end) in enumerate(self.bands):
            k = keys[:, b]
            for col in range(start, end):
                k ^= sigs[:, col].astype(np.uint64)
                k *= _FNV_PRIME
        return keys.tolist()

    def check(self, partition: object, keys: Sequence[str], texts: Sequence[str]
              ) -> list[tuple[str, str] | None]:
        """For each text, None if kept, else ("exact" | "near", id of the earlier twin).

        Kept texts join the index; a new partition starts an empty index.
        """
        if partition != self._partition:
            self._partition = partition
            self._reset()
        words = [tokens(t) for t in texts]
        sigs = self.signatures(texts, words)
        bands = self.band_keys(sigs)
        verdicts: list[tuple[str, str] | None] = []
        exact_of, buckets, ids = self._exact, self._buckets, self._ids
        if len(ids) + len(texts) > len(self._sigs):  # grow by doubling, not per batch
            grown = np.empty((max(2 * len(self._sigs), len(ids) + len(texts)), NUM_PERM),
                             dtype=np.uint32)
            grown[:len(ids)] = self._sigs[:len(ids)]
            self._sigs = grown
        kept = self._sigs
        need = self.threshold * NUM_PERM
        sha256 = hashlib.sha256
        for key, ws, sig, item_bands in zip(keys, words, sigs, bands):
            exact = sha256("\x1f".join(ws).encode("utf-8")).digest()
            twin = exact_of.get(exact)
            if twin is not None:
                verdicts.append(("exact", twin))
                continue
            found = [table.get(k) for table, k in zip(buckets, item_bands)]
            cand = [c for f in found if f is not None for c in (f if type(f) is list else (f,))]
            if cand:
                # MinHash.jaccard for every candidate at once: the share of equal values
                cand_ids = np.unique(np.asarray(cand, dtype=np.int64))
                similar = cand_ids[np.count_nonzero(kept[cand_ids] == sig, axis=1) >= need]
                if len(similar):
                    verdicts.append(("near", ids[int(similar.min())]))
                    continue
            n = len(ids)
            for table, k, f in zip(buckets, item_bands, found):
                if f is None:
                    table[k] = n
                elif type(f) is list:
                    f.append(n)
                else:
                    table[k] = [f, n]
            exact_of[exact] = key
            kept[n] = sig
            ids.append(key)
            verdicts.append(None)
        return verdicts


_STEP = 65536
"""Words per numpy chunk of `Deduper.signatures`: bounds its (words x permutations) buffer."""
_FNV_PRIME = np.uint64(0x100000001B3)


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
