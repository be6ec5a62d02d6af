"""Release gates (datasheets/_gates.py): exact and near duplicates, word hashing and MinHash.

The duplicate gate must agree with datasketch's reference and read the same verdicts whatever
the batch size; words keep their marks, so a tone mark makes another item.
"""

from __future__ import annotations

from jamii.datasheets._gates import Deduper, reference_minhash
from tests.support.release_store import build_release_store


def test_deduper_signatures_equal_datasketch_and_catch_near_duplicates():
    texts = ["Mbolea gani inafaa kwa mahindi wakati wa mvua nyingi?",
             "mbolea GANI inafaa kwa mahindi, wakati wa mvua nyingi!",
             "Mbolea gani inafaa kwa mahindi wakati wa mvua nyingi sana?",
             "Mtoto ana homa kali usiku, nifanye nini?"]
    d = Deduper()
    sigs = d.signatures(texts)
    for text, sig in zip(texts, sigs):
        assert (reference_minhash(text).hashvalues == sig).all()
    verdicts = d.check(("prompt_response", "sw"), ["a", "b", "c", "d"], texts)
    assert verdicts == [None, ("exact", "a"), ("near", "a"), None]


MULTILINGUAL = [
    "Ìgbà wo ni a máa ń gbin àgbàdo? Ọkọ́ rẹ̀ dà?",  # Yoruba: tone marks over dotted vowels combine
    "किसान को बारिश के मौसम में कौन सी खाद डालनी चाहिए?",  # Hindi: vowel signs and viramas are marks
    "ለበቆሎ ምን ዓይነት ማዳበሪያ ይሻላል፤ በዝናብ ወቅት?",  # Amharic: Ge'ez word space and comma
    "STRASSE straße 🌽🌽 a_b",  # case folding, astral symbols, the underscore
    "",
]


def test_bulk_word_hashes_and_signatures_equal_the_one_text_reference():
    """The numpy pass over a whole batch gives each text the signature and digest that the
    plain-Python reference (`tokens`, `word_hash`, `text_digest`, datasketch) gives it."""
    from jamii.datasheets._gates import _WordStream, text_digest, tokens, word_hash

    raw, lens, digests = _WordStream()(MULTILINGUAL)
    assert lens.tolist() == [len(tokens(t)) for t in MULTILINGUAL]
    assert raw.tolist() == [word_hash(w) for t in MULTILINGUAL for w in tokens(t)]
    assert digests.tolist() == [list(text_digest(t)) for t in MULTILINGUAL]
    for text, sig in zip(MULTILINGUAL, Deduper().signatures(MULTILINGUAL)):
        assert (reference_minhash(text).hashvalues == sig).all()


def test_words_keep_their_marks_so_a_tone_or_vowel_sign_makes_another_item():
    """Python's \\w stops at combining marks: it read the Yoruba ọkọ (husband) and ọkọ́ (hoe) as
    one word and a Hindi word cut at its vowel signs, so items differing only there were
    dropped as exact duplicates. Words now keep their marks."""
    from jamii.datasheets._gates import tokens

    assert tokens("Ọkọ́ rẹ̀ dà?") == ["ọkọ́", "rẹ̀", "dà"]
    assert tokens("किसान को बारिश") == ["किसान", "को", "बारिश"]
    assert tokens("ሰላም፣ ለዓለም።") == ["ሰላም", "ለዓለም"]
    texts = ["Ọkọ rẹ dà lónìí ní oko wa?", "Ọkọ́ rẹ̀ dà lónìí ní oko wa?",  # husband / hoe
             "मुझे कल सुबह खाद चाहिए", "मुझे कल सुबह खाद चाहिए।"]  # only punctuation differs
    verdicts = Deduper().check("p", ["y1", "y2", "h1", "h2"], texts)
    assert verdicts[:2] == [None, None]
    assert verdicts[2:] == [None, ("exact", "h1")]


def test_near_twins_of_the_estimate_are_confirmed_on_their_words():
    """At 32 permutations the MinHash estimate sometimes passes 0.7 for a pair well below it.
    With the earlier item's text at hand (as a release has, from the store), such a pair is
    kept; a true near twin is still removed, in an earlier batch or the same one."""
    from jamii.datasheets._gates import NEAR_THRESHOLD, shingles

    def jaccard(a, b):
        x, y = shingles(a), shingles(b)
        return len(x & y) / len(x | y)

    # two words changed: true similarity 0.68, but the estimate puts it above 0.7
    a = "mbolea mtoto mvua mkulima lishe maji mkulima mtoto dawa dawa mavuno afya bei afya"
    b = "mbolea mtoto mvua mkulima lishe maji mtoto mtoto dawa mbegu mavuno afya bei afya"
    assert jaccard(a, b) < NEAR_THRESHOLD
    estimate_only = Deduper()
    assert estimate_only.check("p", ["a", "b"], [a, b]) == [None, ("near", "a")]
    true_twin = a + " leo"  # one word more: similarity above 0.7
    assert jaccard(a, true_twin) >= NEAR_THRESHOLD

    asked = []

    def texts_of(keys):  # what the store answers for earlier items
        asked.append(keys)
        return {k: {"a": a}[k] for k in keys}

    checked = Deduper(texts_of=texts_of)
    assert checked.check("p", ["a"], [a]) == [None]
    assert checked.check("p", ["b", "c"], [b, true_twin]) == [None, ("near", "a")]  # earlier batch
    assert asked == [["a"]]  # one question for the batch
    together = Deduper(texts_of=texts_of)
    assert together.check("p", ["a", "b", "c"], [a, b, true_twin]) == [None, None, ("near", "a")]


def test_duplicate_verdicts_do_not_depend_on_the_batch_size(sqlite_store, tmp_path):
    """Read one item at a time, every twin is in an earlier batch: its text is read back from
    the store to confirm a near twin, and the release removes the very same items."""
    from jamii.datasheets._collect import collect

    planted = build_release_store(sqlite_store)
    camp = sqlite_store.campaign("mazao")
    removed = {}
    for size in (5000, 1):
        folder = tmp_path / f"batch-{size}"
        folder.mkdir()
        found = collect(sqlite_store, camp, folder, exclude_flagged=True, batch_size=size, workers=1)
        removed[size] = {k: sorted(v) for k, v in found.removed.items()}
    assert removed[1] == removed[5000]
    assert planted.ids["dup-near"] in removed[1]["duplicate_near"]


def test_band_index_finds_what_datasketch_finds():
    """Deduper's numpy band keys and dict buckets give the verdicts datasketch's own
    MinHashLSH and MinHash.jaccard give, item by item, on texts with many near twins."""
    import random

    from datasketch import MinHashLSH

    from jamii.datasheets._gates import NEAR_THRESHOLD, NUM_PERM

    rng = random.Random(3)
    words = ("mbolea mahindi shamba mvua maji mbegu udongo mavuno soko bei mkulima homa mtoto "
             "dawa kliniki afya chakula lishe mama malaria").split()
    base = [[rng.choice(words) for _ in range(rng.randint(6, 16))] for _ in range(60)]
    texts = []
    for i in range(600):
        w = list(base[rng.randrange(len(base))])
        for _ in range(rng.randint(0, 4)):  # a few words changed: some stay near, some drift off
            w[rng.randrange(len(w))] = rng.choice(words)
        texts.append(" ".join(w) + f" {i % 7}")
    keys = [f"k{i}" for i in range(len(texts))]

    lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=NUM_PERM)
    exact, kept, expected = {}, {}, []
    for key, text in zip(keys, texts):
        norm = " ".join(text.casefold().split())
        if norm in exact:
            expected.append(("exact", exact[norm]))
            continue
        m = reference_minhash(text)
        near = sorted((int(k[1:]) for k in lsh.query(m) if m.jaccard(kept[k]) >= NEAR_THRESHOLD))
        if near:
            expected.append(("near", f"k{near[0]}"))
            continue
        exact[norm], kept[key] = key, m
        lsh.insert(key, m)
        expected.append(None)

    d = Deduper()
    got = []
    for start in range(0, len(texts), 64):  # in batches, as a release reads them
        got += d.check("p", keys[start:start + 64], texts[start:start + 64])
    assert sum(v is not None and v[0] == "near" for v in expected) > 50
    assert got == expected
