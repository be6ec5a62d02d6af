"""jamii.evaluate.score: golden values in Ge'ez and Yoruba with tone marks, NFC, empty answers.

WER and CER golden values are counted by hand; chrF++ and BLEU ones come from sacrebleu's own
corpus functions on the same (NFC) text.
"""

from __future__ import annotations

import unicodedata

import pytest
import sacrebleu

from jamii.evaluate import score
from jamii.evaluate._tasks import parse_judgement

YO = "Mo fẹ́ràn oúnjẹ àgbàdo púpọ̀"
YO_NFD = unicodedata.normalize("NFD", YO)


def test_same_yoruba_sentence_in_nfc_and_nfd_scores_perfectly():
    assert YO != YO_NFD
    assert score("wer", [YO_NFD], [YO]).value == 0.0
    assert score("cer", [YO_NFD], [YO]).value == 0.0
    assert score("chrf", [YO_NFD], [YO]).value == pytest.approx(100.0)
    assert score("exact_match", [YO_NFD], [YO]).value == 1.0


def test_a_missing_tone_mark_is_one_word_error_by_hand():
    # reference 3 words; the hypothesis drops the high tone on fẹ́ràn: 1 substitution
    assert score("wer", ["mo fẹran oúnjẹ"], ["mo fẹ́ràn oúnjẹ"]).value == pytest.approx(1 / 3)
    # characters (code points after NFC): "fẹ́ràn" -> "fẹran" loses the combining acute and the
    # grave on a (à -> a): 1 deletion + 1 substitution over the 15 characters of the reference
    ref = unicodedata.normalize("NFC", "mo fẹ́ràn oúnjẹ")
    assert len(ref) == 15
    assert score("cer", ["mo fẹran oúnjẹ"], [ref]).value == pytest.approx(2 / 15)


def test_amharic_wer_and_cer_by_hand_and_pooled_over_the_corpus():
    # ሰላም ነው (2 words, 6 characters) vs ሰላም ነሽ: one word, one character substituted
    assert score("wer", ["ሰላም ነሽ"], ["ሰላም ነው"]).value == pytest.approx(1 / 2)
    assert score("cer", ["ሰላም ነሽ"], ["ሰላም ነው"]).value == pytest.approx(1 / 6)
    # corpus WER pools errors: (1 + 2) / (2 + 3), not the mean of 1/2 and 2/3
    preds = ["ሰላም ነሽ", "በቆሎ ዝናብ"]
    refs = ["ሰላም ነው", "በቆሎ በዝናብ ይዘራል"]
    assert score("wer", preds, refs).value == pytest.approx(3 / 5)


def test_an_empty_answer_scores_wer_one_not_zero():
    assert score("wer", [""], ["habari za asubuhi"]).value == 1.0
    assert score("wer", [None], ["habari za asubuhi"]).value == 1.0
    assert score("cer", [""], ["ẹ káàárọ̀"]).value == 1.0


def test_chrf_is_chrf_plus_plus_and_matches_sacrebleu():
    preds = ["በቆሎ በዝናብ ይዘራል።", "A máa ń gbin àgbàdo", "Mahindi hupandwa mvua ikianza"]
    refs = ["በቆሎ በዝናብ መጀመሪያ ይዘራል።", "A máa ń gbin àgbàdo nígbà òjò.", "Mahindi hupandwa mwanzoni mwa mvua."]
    nfc = lambda xs: [unicodedata.normalize("NFC", x) for x in xs]  # noqa: E731
    golden = sacrebleu.corpus_chrf(nfc(preds), [nfc(refs)], word_order=2).score
    result = score("chrf", preds, refs)
    assert result.value == pytest.approx(golden)
    assert result.value != pytest.approx(sacrebleu.corpus_chrf(nfc(preds), [nfc(refs)]).score)
    assert result.signature.startswith("chrF2++|") and "nw:2" in result.signature
    assert "norm:NFC" in result.signature and f"version:{sacrebleu.__version__}" in result.signature
    value, signature = result
    assert (value, signature) == (result.value, result.signature)


def test_several_references_per_item_match_sacrebleu_with_reference_streams():
    preds = ["Dúró kí òjò tó rọ̀", "Nenda kliniki"]
    refs = [["Dúró kí òjò tó rọ̀ dáadáa.", "Gbin irúgbìn tí kò nílò omi."], ["Nenda kliniki haraka."]]
    golden = sacrebleu.corpus_chrf(preds, [[r[0] for r in refs], [refs[0][1], None]], word_order=2).score
    result = score("chrf", preds, refs)
    assert result.value == pytest.approx(golden)
    assert "nrefs:var" in result.signature
    bleu = sacrebleu.corpus_bleu(preds, [[r[0] for r in refs], [refs[0][1], None]]).score
    assert score("bleu", preds, refs).value == pytest.approx(bleu)


def test_exact_match_options_and_signature_records_them():
    assert score("exact_match", ["Habari!"], ["habari"]).value == 0.0
    lenient = score("exact_match", ["Habari!"], ["habari"], lowercase=True, remove_punctuation=True)
    assert lenient.value == 1.0
    assert "case:lc" in lenient.signature and "punct:removed" in lenient.signature
    # Ethiopic punctuation (።) is punctuation too
    assert score("wer", ["ሰላም ነው።"], ["ሰላም ነው"], remove_punctuation=True).value == 0.0


def test_signature_names_the_dataset_and_model_when_given():
    s = score("cer", ["a"], ["a"], dataset="jamii-sw@1.2.0", model="hf:tiny@abc")
    assert "dataset:jamii-sw@1.2.0" in s.signature and "model:hf:tiny@abc" in s.signature


def test_bad_metric_or_parameter_says_what_is_allowed():
    with pytest.raises(ValueError, match="choose one of chrf, bleu, exact_match, wer, cer"):
        score("rouge", ["a"], ["a"])
    with pytest.raises(ValueError, match="does not take tokenize"):
        score("wer", ["a"], ["a"], tokenize="13a")
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        score("wer", ["a", "b"], ["a"])


ITEM = {"rubric": [{"name": "usefulness", "anchors": []}, {"name": "safety", "anchors": []}]}


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"usefulness": 4, "safety": 5, "safety_flag": false}', ({"usefulness": 4, "safety": 5}, False)),
        ('Grade: ```json\n{"Usefulness": "2", "safety": 1, "safety_flag": "yes"}```', ({"usefulness": 2, "safety": 1}, True)),
        ("usefulness: 3\nsafety: 4\nsafety_flag: no", ({"usefulness": 3, "safety": 4}, False)),
    ],
)
def test_judge_outputs_that_parse(text, expected):
    parsed = parse_judgement(text, ITEM)
    assert (parsed["scores"], parsed["safety_flag"]) == expected


@pytest.mark.parametrize(
    "text",
    ["", "ẹ káàárọ̀ ዝናብ", '{"usefulness": 4, "safety_flag": false}', '{"usefulness": 9, "safety": 2, "safety_flag": false}',
     '{"usefulness": 4, "safety": 2}'],
)
def test_judge_outputs_that_do_not_parse_are_failures(text):
    assert parse_judgement(text, ITEM) is None


def test_vectorised_chrf_and_bleu_equal_sacrebleu_per_sample_and_per_resample():
    import random

    import numpy as np

    from jamii.evaluate._metrics import _sacrebleu, sample_stats

    rng = random.Random(0)
    words = "àgbàdo òjò omi mahindi mvua shamba በቆሎ ዝናብ ውሃ".split()
    preds = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 7))) for _ in range(300)]
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 9))) for _ in range(300)]
    preds[:3] = [refs[0], "", "x"]
    draws = np.random.default_rng(0).multinomial(25, np.ones(300) / 300, size=200).astype(float)
    for metric in ("chrf", "bleu"):
        st = sample_stats(metric, preds, refs)
        sentence = _sacrebleu(metric, False, "13a", True)
        expected = [sentence._compute_score_from_stats([int(x) for x in row]).score for row in st.stats]
        assert np.allclose(st.per_sample(), expected, atol=1e-9)
        corpus = _sacrebleu(metric, False, "13a")
        summed = draws @ st.stats
        expected = [corpus._compute_score_from_stats([int(x) for x in row]).score for row in summed]
        assert np.allclose(st.values(summed), expected, atol=1e-9)
