"""Metrics: chrF++ and BLEU (sacrebleu), exact match, WER and CER (jiwer).

Every metric works from per-sample sufficient statistics (sacrebleu's segment statistics, jiwer's
edit counts), so a corpus score, a per-sample score and a bootstrap resample all come from the
same numbers: a corpus score is the metric of the summed statistics. Text is normalised to
Unicode NFC before scoring; jiwer and sacrebleu do not do it, and the same Yoruba sentence in
NFC and NFD otherwise scores WER 1.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version as _version
from typing import Any

import numpy as np

METRICS = ("chrf", "bleu", "exact_match", "wer", "cer")
"""Metric names accepted by `score`."""

LABELS = {"chrf": "chrF++", "bleu": "BLEU", "exact_match": "EM", "wer": "WER", "cer": "CER"}
HIGHER_IS_BETTER = {"chrf": True, "bleu": True, "exact_match": True, "wer": False, "cer": False}
SCALE = {"chrf": "0-100", "bleu": "0-100", "exact_match": "0-1", "wer": "0-1", "cer": "0-1"}

_PARAMS = {
    "chrf": {"lowercase": False},
    "bleu": {"lowercase": False, "tokenize": "13a"},
    "exact_match": {"lowercase": False, "remove_punctuation": False},
    "wer": {"lowercase": False, "remove_punctuation": False},
    "cer": {"lowercase": False, "remove_punctuation": False},
}
_SIGNATURE_CONTEXT = ("dataset", "model")


@dataclass(frozen=True)
class Score:
    """One metric's value over a set of predictions, with what it takes to reproduce it.

    Unpacks as `value, signature = score(...)`.
    """

    metric: str
    """Metric name, one of `METRICS`."""
    value: float
    """The corpus-level value: 0-100 for chrF++ and BLEU, 0-1 for the others."""
    signature: str
    """Everything that affects the number, e.g. `chrF2++|nrefs:1|...|version:2.6.0|norm:NFC`."""
    n: int
    """Number of scored predictions."""
    info: dict[str, Any] = field(default_factory=dict)
    """The signature as a dictionary."""

    def __iter__(self):
        return iter((self.value, self.signature))

    @property
    def label(self) -> str:
        """Display name (`chrF++`, `BLEU`, `EM`, `WER`, `CER`)."""
        return LABELS[self.metric]


def nfc(text: str | None) -> str:
    """Unicode NFC, with None read as the empty string."""
    return unicodedata.normalize("NFC", text or "")


def _check_params(metric: str, params: dict) -> dict:
    if metric not in _PARAMS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    unknown = set(params) - set(_PARAMS[metric]) - set(_SIGNATURE_CONTEXT)
    if unknown:
        allowed = ", ".join(sorted(set(_PARAMS[metric]) | set(_SIGNATURE_CONTEXT)))
        raise ValueError(f"{metric} does not take {', '.join(sorted(unknown))}; it takes {allowed}")
    return {**_PARAMS[metric], **{k: v for k, v in params.items() if k in _PARAMS[metric]}}


def _as_references(references: Sequence) -> list[list[str]]:
    """One list of reference strings per prediction (a bare string is one reference)."""
    out = []
    for ref in references:
        if ref is None or isinstance(ref, str):
            out.append([nfc(ref)])
        else:
            refs = [nfc(r) for r in ref if r is not None]
            out.append(refs or [""])
    return out


@cache
def _sacrebleu(metric: str, lowercase: bool, tokenize: str = "13a", sentence: bool = False):
    import sacrebleu

    if metric == "chrf":
        return sacrebleu.CHRF(word_order=2, lowercase=lowercase)
    return sacrebleu.BLEU(lowercase=lowercase, tokenize=tokenize, effective_order=sentence)


def _jiwer_transform(metric: str, lowercase: bool, remove_punctuation: bool):
    import jiwer

    steps = [jiwer.ToLowerCase()] if lowercase else []
    if remove_punctuation:
        steps.append(jiwer.RemovePunctuation())
    steps += [jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
    steps.append(
        jiwer.ReduceToListOfListOfWords() if metric == "wer" else jiwer.ReduceToListOfListOfChars()
    )
    return jiwer.Compose(steps)


CHRF_BETA = 2


def chrf_from_stats(stats: np.ndarray, beta: float = CHRF_BETA) -> np.ndarray:
    """sacrebleu's chrF (`CHRF._compute_f_score`, effective-order averaging) of each row of
    [hyp, ref, match] counts per n-gram order, in numpy."""
    st = np.asarray(stats, dtype=np.float64).reshape(len(stats), -1, 3)
    hyp, ref, match = st[..., 0], st[..., 1], st[..., 2]
    valid = (hyp > 0) & (ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(valid, match / np.where(hyp > 0, hyp, 1), 0.0)
        rec = np.where(valid, match / np.where(ref > 0, ref, 1), 0.0)
    order = valid.sum(axis=1)
    avg_prec = prec.sum(axis=1) / np.maximum(order, 1)
    avg_rec = rec.sum(axis=1) / np.maximum(order, 1)
    factor = beta ** 2
    denom = factor * avg_prec + avg_rec
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(denom > 0, 100 * (1 + factor) * avg_prec * avg_rec / np.where(denom > 0, denom, 1), 0.0)
    return score


def bleu_from_stats(stats: np.ndarray, *, effective_order: bool, max_order: int = 4) -> np.ndarray:
    """sacrebleu's BLEU (`BLEU.compute_bleu`, `exp` smoothing) of each row of
    [sys_len, ref_len, correct x4, total x4], in numpy."""
    st = np.asarray(stats, dtype=np.float64).reshape(len(stats), -1)
    sys_len, ref_len = st[:, 0], st[:, 1]
    correct, total = st[:, 2:2 + max_order], st[:, 2 + max_order:2 + 2 * max_order]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1)), 0.0), 1.0)
        # orders from the first with total == 0 on are skipped (precision 0)
        reached = np.cumprod(total > 0, axis=1).astype(bool)
        zero = reached & (correct == 0)
        smooth = np.cumsum(zero, axis=1)
        safe_total = np.where(total > 0, total, 1)
        prec = np.where(zero, 100.0 / (2.0 ** smooth * safe_total), 100.0 * correct / safe_total)
        prec = np.where(reached, prec, 0.0)
        logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1)), -9999999999.0)
        if effective_order:
            eff = np.maximum(reached.sum(axis=1), 1)
            used = np.arange(max_order)[None, :] < eff[:, None]
            # sacrebleu: eff_order stays max_order when even the unigram total is 0
            eff = np.where(reached[:, 0], eff, max_order)
            used = np.where(reached[:, 0][:, None], used, True)
        else:
            eff = np.full(len(st), max_order)
            used = np.ones_like(reached)
        score = bp * np.exp((logs * used).sum(axis=1) / eff)
    return np.where(correct.any(axis=1), score, 0.0)


class MetricStats:
    """Per-sample sufficient statistics of one metric, and the score of any subset of them."""

    def __init__(self, metric: str, stats: np.ndarray, params: dict):
        self.metric = metric
        self.stats = stats
        self.params = params

    def value(self, summed: np.ndarray) -> float:
        """The metric of summed statistics (a corpus, a subgroup or a bootstrap resample)."""
        if self.metric in ("chrf", "bleu"):
            obj = _sacrebleu(self.metric, self.params["lowercase"], self.params.get("tokenize", "13a"))
            ints = [int(round(x)) for x in summed]
            return float(obj._compute_score_from_stats(ints).score)
        if self.metric == "exact_match":
            return float(summed[0] / summed[1]) if summed[1] else 0.0
        errors, length = summed
        if length == 0:
            return 0.0 if errors == 0 else 1.0
        return float(errors / length)

    def values(self, summed: np.ndarray) -> np.ndarray:
        """`value` for each row of a (B, k) matrix of summed statistics (bootstrap resamples).

        chrF++ and BLEU are computed in numpy with sacrebleu's formulas (checked against
        sacrebleu in the tests), so 1000 resamples cost one array expression, not 1000 calls.
        """
        summed = np.atleast_2d(np.asarray(summed, dtype=np.float64))
        if self.metric == "chrf":
            return chrf_from_stats(np.rint(summed))
        if self.metric == "bleu":
            return bleu_from_stats(np.rint(summed), effective_order=False)
        num, den = summed[:, 0], summed[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(den > 0, num / np.where(den > 0, den, 1), np.where(num > 0, 1.0, 0.0))
        return out

    def per_sample(self) -> list[float]:
        """Each sample's own score (sentence chrF++/BLEU with effective order, WER, ...)."""
        if not len(self.stats):
            return []
        if self.metric == "chrf":
            return chrf_from_stats(self.stats).tolist()
        if self.metric == "bleu":
            return bleu_from_stats(self.stats, effective_order=True).tolist()
        return self.values(self.stats).tolist()

    def corpus(self) -> float:
        return self.value(self.stats.sum(axis=0))


def sample_stats(metric: str, predictions: Sequence[str], references: Sequence, **params) -> MetricStats:
    """Per-sample sufficient statistics of `metric` (after NFC normalisation)."""
    params = _check_params(metric, params)
    preds = [nfc(p) for p in predictions]
    refs = _as_references(references)
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")
    if metric in ("chrf", "bleu"):
        obj = _sacrebleu(metric, params["lowercase"], params.get("tokenize", "13a"))
        width = max((len(r) for r in refs), default=1)
        streams = [[r[i] if i < len(r) else None for r in refs] for i in range(width)]
        rows = obj._extract_corpus_statistics(preds, streams) if preds else []
        k = len(rows[0]) if rows else 1
        return MetricStats(metric, np.array(rows, dtype=np.float64).reshape(-1, k), params)
    if metric == "exact_match":
        import jiwer

        steps = [jiwer.ToLowerCase()] if params["lowercase"] else []
        if params["remove_punctuation"]:
            steps.append(jiwer.RemovePunctuation())
        steps += [jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
        norm = jiwer.Compose(steps)
        rows = [[float(any(norm(p) == norm(r) for r in rs)), 1.0] for p, rs in zip(preds, refs)]
        return MetricStats(metric, np.array(rows, dtype=np.float64).reshape(-1, 2), params)
    import jiwer

    transform = _jiwer_transform(metric, params["lowercase"], params["remove_punctuation"])
    process = jiwer.process_words if metric == "wer" else jiwer.process_characters
    rows = []
    for p, rs in zip(preds, refs):
        best = None
        for r in rs:
            out = process(r, p, reference_transform=transform, hypothesis_transform=transform)
            errors = out.substitutions + out.deletions + out.insertions
            length = out.substitutions + out.deletions + out.hits
            ratio = errors / length if length else float(errors > 0)
            if best is None or ratio < best[0]:
                best = (ratio, errors, length)
        rows.append([best[1], best[2]])
    return MetricStats(metric, np.array(rows, dtype=np.float64).reshape(-1, 2), params)


@cache
def library_versions() -> dict[str, str]:
    """Versions of the libraries behind the metrics."""
    return {name: _version(name) for name in ("sacrebleu", "jiwer")}


def signature(metric: str, n_refs: int | str = 1, **params) -> tuple[str, dict]:
    """The signature string and dictionary of `metric` with `params`.

    `dataset` and `model` (free-form strings such as `name@1.0.0` and `hf:path@revision`) are
    added when given, so a stored score says what it was computed on.
    """
    context = {k: params.pop(k) for k in _SIGNATURE_CONTEXT if params.get(k) is not None}
    params = _check_params(metric, params)
    if metric in ("chrf", "bleu"):
        obj = _sacrebleu(metric, params["lowercase"], params.get("tokenize", "13a"))
        obj.num_refs = n_refs if isinstance(n_refs, int) else -1
        sig = obj.get_signature()
        name = "chrF2++" if metric == "chrf" else "BLEU"
        info = {"metric": name, **{k: v for k, v in sig.info.items() if v is not None}}
        text = f"{name}|{sig.format()}"
    else:
        info = {
            "metric": metric,
            "nrefs": n_refs,
            "case": "lc" if params["lowercase"] else "mixed",
            "punct": "removed" if params["remove_punctuation"] else "kept",
        }
        if metric != "exact_match":
            info["version"] = _version("jiwer")
            info["lib"] = "jiwer"
        text = "|".join([metric] + [f"{k}:{v}" for k, v in list(info.items())[1:]])
    info["norm"] = "NFC"
    text += "|norm:NFC"
    for key, value in context.items():
        info[key] = value
        text += f"|{key}:{value}"
    return text, info


def score(metric: str, predictions: Sequence[str], references: Sequence, **params) -> Score:
    """Score `predictions` against `references` with `metric`, returning the value and its signature.

    Args:
        metric: `chrf` (chrF++: sacrebleu CHRF with `word_order=2`), `bleu`, `exact_match`,
            `wer` or `cer`.
        predictions: One string per sample; None or "" is an empty answer (WER 1, not 0).
        references: One reference string per sample, or a list of references per sample.
        **params: `lowercase` (all metrics), `remove_punctuation` (exact_match, wer, cer;
            Unicode punctuation), `tokenize` (bleu); `dataset` and `model` are recorded in the
            signature only.

    Returns:
        A `Score`; `value, signature = score(...)` also works.

    Both sides are normalised to Unicode NFC first. WER and CER are corpus rates (errors pooled
    over all samples, as jiwer computes them); with several references, each sample uses the
    reference it matches best.
    """
    predictions = list(predictions)
    references = list(references)
    stats = sample_stats(
        metric, predictions, references, **{k: v for k, v in params.items() if k not in _SIGNATURE_CONTEXT}
    )
    ref_counts = {1 if (r is None or isinstance(r, str)) else max(1, len(r)) for r in references}
    n_refs: int | str = ref_counts.pop() if len(ref_counts) == 1 else "var"
    text, info = signature(metric, n_refs=n_refs, **params)
    value = stats.corpus() if len(predictions) else float("nan")
    return Score(metric=metric, value=value, signature=text, n=len(predictions), info=info)
