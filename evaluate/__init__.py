"""Score local open models on a jamii release (DESIGN section 7).

    from jamii.evaluate import evaluate, score

    evaluate("releases/sw-1.0.0", "hf:models/tiny", "results/tiny")
    value, signature = score("chrf", ["A máa ń gbin àgbàdo"], ["A máa ń gbin àgbàdo nígbà òjò."])

Backends: `hf:PATH_OR_ID`, `openai:BASE_URL#MODEL`, `asr:PATH_OR_ID`. Metrics: `chrf` (chrF++),
`bleu`, `exact_match`, `wer`, `cer`, all after Unicode NFC normalisation.
"""

from jamii.evaluate._backends import Backend, BackendError, GenParams, load_backend
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
    "Backend",
    "BackendError",
    "EvaluationError",
    "GenParams",
    "HfExport",
    "RatingAnswersError",
    "Release",
    "ReleaseError",
    "Results",
    "ResultsError",
    "Score",
    "evaluate",
    "export_hf_eval_results",
    "export_inspect_task",
    "export_lm_eval_task",
    "format_table",
    "load_backend",
    "open_release",
    "read_rating_answers",
    "score",
]
