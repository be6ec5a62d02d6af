"""Score local open models on a jamii release (DESIGN section 7).

    from jamii.evaluate import evaluate, score

    evaluate("releases/sw-1.0.0", "hf:models/tiny", "results/tiny")
    value, signature = score("chrf", ["A máa ń gbin àgbàdo"], ["A máa ń gbin àgbàdo nígbà òjò."])

Backends: `hf:PATH_OR_ID`, `openai:BASE_URL#MODEL`, `asr:PATH_OR_ID`. Metrics: `chrf` (chrF++),
`bleu`, `exact_match`, `wer`, `cer`, all after Unicode NFC normalisation.
"""

from jamii.evaluate._backends import Backend, BackendError, GenParams, load_backend
from jamii.evaluate._community import (
    PAIR_CHOICES,
    CriterionScore,
    JudgeAgreement,
    PairwiseBoard,
    SafetyRate,
    Strength,
    bradley_terry,
    direct_scores,
    judge_vs_community,
    pairwise_by_group,
    rating_alpha,
    safety_rates,
)
from jamii.evaluate._export import export_lm_eval_task
from jamii.evaluate._export_inspect import export_inspect_task
from jamii.evaluate._hf_results import HfExport, ResultsError, export_hf_eval_results
from jamii.evaluate._metrics import METRICS, Score, score
from jamii.evaluate._rating_answers import RatingAnswersError, read_rating_answers
from jamii.evaluate._release import Release, ReleaseError, open_release
from jamii.evaluate._runner import EvaluationError, Results, evaluate
from jamii.evaluate._summary import format_table

__all__ = [
    "METRICS",
    "PAIR_CHOICES",
    "Backend",
    "BackendError",
    "CriterionScore",
    "EvaluationError",
    "GenParams",
    "HfExport",
    "JudgeAgreement",
    "PairwiseBoard",
    "RatingAnswersError",
    "Release",
    "ReleaseError",
    "Results",
    "ResultsError",
    "SafetyRate",
    "Score",
    "Strength",
    "bradley_terry",
    "direct_scores",
    "evaluate",
    "export_hf_eval_results",
    "export_inspect_task",
    "export_lm_eval_task",
    "format_table",
    "judge_vs_community",
    "load_backend",
    "open_release",
    "pairwise_by_group",
    "rating_alpha",
    "read_rating_answers",
    "safety_rates",
    "score",
]
