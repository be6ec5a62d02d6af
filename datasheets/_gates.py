"""The release gates that judge single items and the set of items: PII, duplicates, languages.

Each gate returns what it found instead of raising, so `build_release` can refuse once with
every reason at the same time.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    # each field as a human reads it (`checks.pii_view`), so that hit positions in the joined
    # view map back to fields whatever hidden characters the stored text holds
    fields = [(k, checks.pii_view(v)) for k, v in texts.items()
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


@functools.cache
def word_chars() -> np.ndarray:
    """Which code points make up words (a bool per code point, 1.1 MB, built once per process):
    letters, marks, numbers, the underscore and the zero-width joiners.

    Marks belong to words: Python's `\\w` leaves them out, which cuts a Devanagari word at its
    vowel signs and a Yoruba word at a tone mark over an underdotted vowel (NFC has no single
    character for it). The joiners sit inside Sinhala, Malayalam and Persian words."""
    table = np.fromiter((unicodedata.category(chr(c))[0] in "LMN" for c in range(0x110000)),
                        dtype=bool, count=0x110000)
    table[[ord("_"), 0x200C, 0x200D]] = True
    return table


@functools.cache
def _word_pattern() -> re.Pattern:
    table = word_chars()
    edges = np.flatnonzero(np.diff(table.view(np.int8), prepend=0, append=0))
    ranges = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b - 1))}"
                     for a, b in zip(edges[::2].tolist(), edges[1::2].tolist()))
    return re.compile(f"[{ranges}]+")


def tokens(text: str) -> list[str]:
    """Words, case-folded, punctuation and spacing ignored (the text is NFC already): what
    `Deduper` reads, one text at a time."""
    return _word_pattern().findall(text.casefold())


_M64 = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15
"""The word hash's polynomial base (odd, so it has an inverse modulo 2**64)."""
_DIGEST_BASES = (0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
"""Bases of the two 64-bit polynomials over a text's word hashes that make its 128-bit digest."""


def _fmix64(h: int) -> int:
    """MurmurHash3's 64-bit finaliser: spreads a polynomial hash's weak low bits over all 64."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def word_hash64(word: str) -> int:
    """A 64-bit hash of a word, the same in every process and run: the polynomial
    sum(ord(c_j) * BASE**j) modulo 2**64, finalised. `_WordStream` computes it for every word of
    a batch at once in numpy."""
    h = 0
    for ch in reversed(word):
        h = (h * _BASE + ord(ch)) & _M64
    return _fmix64(h)


def word_hash(word: str) -> int:
    """The 32-bit word hash MinHash uses: the top half of `word_hash64`."""
    return word_hash64(word) >> 32


def text_digest(text: str) -> tuple[int, int]:
    """128 bits that are equal for two texts exactly when their word sequences are (up to a
    hash collision): sum(word_hash64(w_k) * B**k) modulo 2**64 for two bases B."""
    hashes = [word_hash64(w) for w in tokens(text)]
    out = []
    for base in _DIGEST_BASES:
        d = 0
        for h in reversed(hashes):
            d = (d * base + h) & _M64
        out.append(d)
    return out[0], out[1]


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


def _fmix64_np(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


class _Powers:
    """base**k modulo 2**64 for k = 0, 1, ..., grown on demand."""

    def __init__(self, base: int):
        self.base = base
        self.table = np.ones(1, dtype=np.uint64)

    def __call__(self, n: int) -> np.ndarray:
        if n > len(self.table):
            self.table = np.ones(max(n, 2 * len(self.table)), dtype=np.uint64)
            # uint64 products wrap around: arithmetic modulo 2**64, as the Python reference does
            np.cumprod(np.full(len(self.table) - 1, self.base, dtype=np.uint64), out=self.table[1:])
        return self.table[:n]


def _polynomials(values: np.ndarray, lengths: np.ndarray, powers: _Powers) -> np.ndarray:
    """For consecutive segments of `values` of the given lengths, sum(value_j * base**j) modulo
    2**64, j counted from each segment's start; 0 for an empty segment."""
    out = np.zeros(len(lengths), dtype=np.uint64)
    filled = np.flatnonzero(lengths)
    if not len(filled):
        return out
    ends = np.cumsum(lengths)
    starts = ends - lengths
    position = np.arange(len(values)) - np.repeat(starts, lengths)
    out[filled] = np.add.reduceat(values * powers(int(lengths.max()))[position], starts[filled])
    return out


class _WordStream:
    """Every word of a batch of texts, hashed, without making a Python string per word.

    The texts are case-folded, joined and read as UTF-32 code points; `word_chars` marks the
    code points inside words; each run of them is a word, hashed as `word_hash64` does."""

    def __init__(self):
        self._chars = _Powers(_BASE)
        self._digest = [_Powers(b) for b in _DIGEST_BASES]

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(32-bit word hashes in text order, words per text, each text's 128-bit digest as
        two uint64 columns)."""
        folded = [t.casefold() for t in texts]
        sizes = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
        text_starts = np.cumsum(sizes + 1) - (sizes + 1)  # "\n" between texts ends every word
        points = np.frombuffer("\n".join(folded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        inside = word_chars()[points]
        edges = np.diff(inside.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        words64 = _fmix64_np(_polynomials(points[inside].astype(np.uint64), ends - starts, self._chars))
        owner = np.searchsorted(text_starts, starts, side="right") - 1
        counts = np.bincount(owner, minlength=len(texts)).astype(np.int64)
        digests = np.stack([_polynomials(words64, counts, p) for p in self._digest], axis=1)
        return (words64 >> np.uint64(32)).astype(np.uint32), counts, digests


class Deduper:
    """Exact and near duplicates within one partition (a kind and a language), first one wins.

    Exact duplicates share the 128-bit digest of their case-folded word sequence; they never
    reach the index. Near duplicates are found by MinHash LSH: each item's MinHash (datasketch's
    affine32 scheme, word unigram and bigram shingles) is cut into the bands and rows
    datasketch's `MinHashLSH` chooses for the threshold; an earlier item sharing any band is a
    candidate, and counts only when its estimated Jaccard similarity (`MinHash.jaccard`'s share
    of equal values, for all candidates in one numpy step) reaches the threshold.

    The work is done a batch at a time in numpy: the words and their hashes (`_WordStream`,
    no Python string per word); the signatures, with datasketch's own permutations and pre-mix,
    equal to `reference_minhash` item by item; and each band's bucket key, a 64-bit hash of its
    rows, kept sorted per band and binary-searched. datasketch's per-item `update_batch`,
    `query` and `insert` compute the same things one item and one band at a time and cost
    several times more than the rest of a release; `test_band_index_finds_what_datasketch_finds`
    checks that the verdicts agree.
    """

    def __init__(self, threshold: float = NEAR_THRESHOLD,
                 texts_of: Callable[[list[str]], dict[str, str]] | None = None):
        proto = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
        self._perm_a, self._perm_b = (np.asarray(p, dtype=np.uint32).reshape(-1, 1)
                                      for p in proto.permutations)
        self.threshold = threshold
        self.texts_of = texts_of
        """Earlier kept items' texts by their keys, for many keys at once (one store query per
        batch). With it, a near twin the estimate finds
        counts only if their word shingles' exact Jaccard similarity reaches the threshold: at
        32 permutations the estimate lets through a pair of true similarity 0.36 about once in
        25,000, and a campaign of many similar items has millions of candidate pairs. Without
        it (None), the estimate decides, as datasketch's `MinHashLSH` does."""
        self.bands = MinHashLSH(threshold=threshold, num_perm=NUM_PERM).hashranges
        """(start, end) of each band in a signature, as datasketch chooses them."""
        self._words = _WordStream()
        self._buf = np.empty((NUM_PERM, _STEP), dtype=np.uint32)
        self._partition: object = None
        self._reset()

    def _reset(self) -> None:
        # per band, the bucket keys of the kept items, sorted, and the item number of each
        self._band_keys = [np.empty(0, dtype=np.uint64) for _ in self.bands]
        self._band_items = [np.empty(0, dtype=np.int64) for _ in self.bands]
        self._sigs = np.empty((1024, NUM_PERM), dtype=np.uint32)
        """Signatures of the kept items, by item number (insertion order)."""
        self._digests = np.empty((1024, 2), dtype=np.uint64)
        """The 128-bit digest of each kept item's word sequence, by item number."""
        self._ids: list[str] = []

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures (len(texts) x NUM_PERM, uint32) of many texts at once."""
        return self._signatures(*self._words(texts)[:2])

    def _signatures(self, raw: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """Signatures from the word hashes of the texts (in order) and each text's word count."""
        out = np.full((len(lens), NUM_PERM), _MAX, dtype=np.uint32)
        total = int(lens.sum())
        if not total:
            return out
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
        raw, lens, digest_array = self._words(texts)
        sigs = self._signatures(raw, lens)
        bkeys = self.band_keys(sigs)
        digests = digest_array.tolist()
        n_new = len(texts)
        need = self.threshold * NUM_PERM
        ids, kept_sigs = self._ids, self._grow(len(self._ids) + n_new)
        first_new = len(ids)
        # 1. the batch against the kept items of earlier batches, all pairs at once
        pair_item, pair_cand = [], []
        in_batch = np.zeros(n_new, dtype=bool)
        for b in range(len(self.bands)):
            band_keys, band_items = self._band_keys[b], self._band_items[b]
            # queries in sorted order: each binary search starts where the last one ended
            order = np.argsort(bkeys[:, b])
            wanted = bkeys[order, b]
            lo, counts = np.empty(n_new, dtype=np.int64), np.empty(n_new, dtype=np.int64)
            lo[order] = np.searchsorted(band_keys, wanted, side="left")
            counts[order] = np.searchsorted(band_keys, wanted, side="right")
            counts -= lo
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
            # each (item, candidate) pair once, sorted, however many bands it shares: one
            # integer per pair (candidates are numbered below first_new)
            pairs = np.unique(np.concatenate(pair_item) * first_new + np.concatenate(pair_cand))
            item, cand = np.divmod(pairs, first_new)
            equal = np.count_nonzero(kept_sigs[cand] == sigs[item], axis=1)
            # most candidates share a band by chance and fall short of the threshold: only the
            # similar pairs are looked at one by one
            similar = equal >= need
            earlier = ({} if self.texts_of is None or not similar.any()
                       else self.texts_of(sorted({ids[c] for c in cand[similar].tolist()})))
            for i, c, e in zip(item[similar].tolist(), cand[similar].tolist(), equal[similar].tolist()):
                if e == NUM_PERM and self._digests[c].tolist() == digests[i]:
                    exact_prior[i] = c
                elif i not in near_prior and self._confirmed(texts[i], lambda c=c: earlier[ids[c]]):
                    near_prior[i] = c  # pairs are sorted: c is the earliest confirmed
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
                    similar = [c for c, e in zip(cand, equal.tolist()) if e >= need and self._confirmed(
                        texts[i], lambda c=c: texts[rows[c - first_new]])]
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
        kept_rows = np.asarray(rows, dtype=np.int64)
        self._digests[first_new:len(ids)] = digest_array[kept_rows]
        numbers = np.arange(first_new, len(ids), dtype=np.int64)
        for b in range(len(self.bands)):
            new = bkeys[kept_rows, b]
            order = np.argsort(new, kind="stable")
            at = np.searchsorted(self._band_keys[b], new[order], side="right")
            self._band_keys[b] = np.insert(self._band_keys[b], at, new[order])
            self._band_items[b] = np.insert(self._band_items[b], at, numbers[order])
        return verdicts

    def _confirmed(self, text: str, other: Callable[[], str]) -> bool:
        """Whether a near twin by the estimate is one by the exact Jaccard similarity of word
        shingles (always, without `texts_of`)."""
        if self.texts_of is None:
            return True
        mine, theirs = shingles(text), shingles(other())
        return len(mine & theirs) >= self.threshold * len(mine | theirs)

    def _grow(self, size: int) -> np.ndarray:
        """The kept signatures' array, grown (with the digests') by doubling to hold `size` items."""
        if size > len(self._sigs):
            n, kept = max(2 * len(self._sigs), size), len(self._ids)
            for name, width in (("_sigs", NUM_PERM), ("_digests", 2)):
                old = getattr(self, name)
                grown = np.empty((n, width), dtype=old.dtype)
                grown[:kept] = old[:kept]
                setattr(self, name, grown)
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
