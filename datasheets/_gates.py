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
        self._perm_a, self._perm_b = (np.asarray(p, dtype=np.uint32).reshape(-1, 1)
                                      for p in proto.permutations)
        self.threshold = threshold
        self.bands = MinHashLSH(threshold=threshold, num_perm=NUM_PERM).hashranges
        """(start, end) of each band in a signature, as datasketch chooses them."""
        self._words = _WordHashes()
        self._buf = np.empty((NUM_PERM, _STEP), dtype=np.uint32)
        self._partition: object = None
        self._reset()

    def _reset(self) -> None:
        # per band, the bucket keys of the kept items, sorted, and the item number of each
        self._band_keys = [np.empty(0, dtype=np.uint64) for _ in self.bands]
        self._band_items = [np.empty(0, dtype=np.int64) for _ in self.bands]
        self._sigs = np.empty((1024, NUM_PERM), dtype=np.uint32)
        """Signatures of the kept items, by item number (insertion order)."""
        self._digests: list[bytes] = []
        """sha256 of each kept item's word sequence, by item number."""
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
        ends = np.cumsum(lens)
        starts = ends - lens
        last = ends[lens > 0] - 1
        # the bigram at position j joins words j and j+1 of the same text. The last word of a
        # text starts none; its slot gets that word's own hash, whose permuted values the
        # unigrams already hold, so the minimum is unchanged and no mask is needed
        bi = np.empty_like(raw)
        bi[:-1] = (raw[:-1] * _BIGRAM_MUL) ^ raw[1:]
        bi[last] = raw[last]
        hashed = (_fmix(raw, 32), _fmix(bi, 32))
        nonempty = np.flatnonzero(lens)
        buf = self._buf
        lo = 0
        while lo < len(nonempty):
            first = int(starts[nonempty[lo]])
            # the texts whose words fit in one buffer (a longer text gets a buffer of its own)
            hi = max(int(np.searchsorted(ends[nonempty], first + _STEP, side="right")), lo + 1)
            rows = nonempty[lo:hi]
            s, e = first, int(ends[rows[-1]])
            offsets = starts[rows] - s
            # permutations by rows, words along each row: numpy's inner loops then run over
            # contiguous words, several times faster than words by rows
            phv = buf[:, :e - s] if e - s <= buf.shape[1] else np.empty((NUM_PERM, e - s), np.uint32)
            sig = None
            for values in hashed:
                np.multiply(self._perm_a, values[s:e], out=phv)
                np.add(phv, self._perm_b, out=phv)
                part = np.minimum.reduceat(phv, offsets, axis=1)
                sig = part if sig is None else np.minimum(sig, part, out=sig)
            out[rows] = sig.T
            lo = hi
        return out

    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """Each signature's bucket key in each band (len(sigs) x bands, uint64): its rows mixed
        into 64 bits (FNV-1a style, wrapping). Equal bands give equal keys; a rare collision
        only adds a candidate, which the signature check then refuses."""
        keys = np.zeros((len(sigs), len(self.bands)), dtype=np.uint64)
        for b, (start, end) in enumerate(self.bands):
            k = keys[:, b]
            for col in range(start, end):
                k ^= sigs[:, col].astype(np.uint64)
                k *= _FNV_PRIME
        return keys

    def check(self, partition: object, keys: Sequence[str], texts: Sequence[str]
              ) -> list[tuple[str, str] | None]:
        """For each text, None if kept, else ("exact" | "near", id of the earlier twin).

        Kept texts join the index; a new partition starts an empty index. An exact twin has
        the same words, so the same signature and the same key in every band: both kinds of
        twin are found among the items that share a band. Which items share one is worked
        out for the whole batch in numpy (binary search in each band's sorted keys; equal
        keys within the batch); only those items are judged one by one, in order.
        """
        if partition != self._partition:
            self._partition = partition
            self._reset()
        words = [tokens(t) for t in texts]
        sigs = self.signatures(texts, words)
        bkeys = self.band_keys(sigs)
        digests = [hashlib.sha256("\x1f".join(ws).encode("utf-8")).digest() for ws in words]
        n_new = len(texts)
        need = self.threshold * NUM_PERM
        ids, kept_sigs = self._ids, self._grow(len(self._ids) + n_new)
        first_new = len(ids)
        # 1. the batch against the kept items of earlier batches, all pairs at once
        pair_item, pair_cand = [], []
        in_batch = np.zeros(n_new, dtype=bool)
        for b in range(len(self.bands)):
            band_keys, band_items = self._band_keys[b], self._band_items[b]
            lo = np.searchsorted(band_keys, bkeys[:, b], side="left")
            counts = np.searchsorted(band_keys, bkeys[:, b], side="right") - lo
            total = int(counts.sum())
            if total:
                starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
                pair_item.append(np.repeat(np.arange(n_new), counts))
                pair_cand.append(band_items[starts + np.arange(total)])
            _, inverse, seen = np.unique(bkeys[:, b], return_inverse=True, return_counts=True)
            in_batch |= seen[inverse] > 1
        exact_prior: dict[int, int] = {}
        near_prior: dict[int, int] = {}
        if pair_item:
            pairs = np.unique(np.stack([np.concatenate(pair_item), np.concatenate(pair_cand)], 1), axis=0)
            equal = np.count_nonzero(kept_sigs[pairs[:, 1]] == sigs[pairs[:, 0]], axis=1)
            for (i, c), e in zip(pairs.tolist(), equal.tolist()):
                if e == NUM_PERM and self._digests[c] == digests[i]:
                    exact_prior[i] = c
                elif e >= need and i not in near_prior:  # pairs are sorted: c is the earliest
                    near_prior[i] = c
        # 2. one by one, in order: only items that share a band with another item of the batch
        # need the items kept before them in this batch
        batch_buckets: list[dict[int, list[int]]] = [{} for _ in self.bands]
        rows: list[int] = []
        verdicts: list[tuple[str, str] | None] = []
        for i, key in enumerate(keys):
            if i in exact_prior:
                verdicts.append(("exact", ids[exact_prior[i]]))
                continue
            if i in near_prior:
                verdicts.append(("near", ids[near_prior[i]]))
                continue
            if in_batch[i]:
                item_keys = bkeys[i].tolist()
                cand = sorted({c for bucket, k in zip(batch_buckets, item_keys) for c in bucket.get(k, ())})
                twin = next((c for c in cand if digests[rows[c - first_new]] == digests[i]), None)
                if twin is not None:
                    verdicts.append(("exact", ids[twin]))
                    continue
                if cand:
                    equal = np.count_nonzero(kept_sigs[cand] == sigs[i], axis=1)
                    similar = [c for c, e in zip(cand, equal.tolist()) if e >= need]
                    if similar:
                        verdicts.append(("near", ids[similar[0]]))
                        continue
                for bucket, k in zip(batch_buckets, item_keys):
                    bucket.setdefault(k, []).append(len(ids))
            kept_sigs[len(ids)] = sigs[i]
            ids.append(key)
            rows.append(i)
            verdicts.append(None)
        # 3. the kept items join the index: their keys merged into each band's sorted keys
        self._digests += [digests[i] for i in rows]
        kept_rows = np.asarray(rows, dtype=np.int64)
        numbers = np.arange(first_new, len(ids), dtype=np.int64)
        for b in range(len(self.bands)):
            new = bkeys[kept_rows, b]
            order = np.argsort(new, kind="stable")
            at = np.searchsorted(self._band_keys[b], new[order], side="right")
            self._band_keys[b] = np.insert(self._band_keys[b], at, new[order])
            self._band_items[b] = np.insert(self._band_items[b], at, numbers[order])
        return verdicts

    def _grow(self, size: int) -> np.ndarray:
        """The kept signatures' array, grown by doubling to hold `size` items."""
        if size > len(self._sigs):
            grown = np.empty((max(2 * len(self._sigs), size), NUM_PERM), dtype=np.uint32)
            grown[:len(self._ids)] = self._sigs[:len(self._ids)]
            self._sigs = grown
        return self._sigs


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
