"""`jamii evaluate` with the real `asr` backend (a tiny wav2vec2 CTC model with a local vocabulary)."""

from __future__ import annotations

import io
import json

import pytest

from jamii.evaluate import EvaluationError, evaluate, score
from support.evaluate_fixtures import release, tiny_asr, tiny_lm  # noqa: F401
from support.release_fixture import wav_bytes, write_release

pytestmark = pytest.mark.models


def read_samples(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def test_speech_items_are_transcribed_and_scored_with_wer_and_cer(release, tiny_asr, tmp_path):
    import soundfile as sf
    from transformers import pipeline

    res = evaluate(release, f"asr:{tiny_asr}", tmp_path / "r", progress=False)
    samples = read_samples(tmp_path / "r")
    assert {s["kind"] for s in samples} == {"speech"} and len(samples) == 3
    # the backend's transcript is the pipeline's, for the same audio
    pipe = pipeline("automatic-speech-recognition", model=str(tiny_asr))
    seeds = {"sp-sw-1": 0, "sp-yo-1": 1, "sp-am-1": 2}  # the fixture's audio of row i has seed i
    for s in samples:
        audio, sr = sf.read(io.BytesIO(wav_bytes(seed=seeds[s["id"]])), dtype="float32")
        assert s["prediction"] == pipe({"raw": audio, "sampling_rate": sr})["text"]
        assert s["scores"]["wer"] == score("wer", [s["prediction"]], [s["reference"]]).value
        assert s["audio"]["sha256"] and s["prompt"] is None
    overall = res.summary["overall"]
    assert set(overall["metrics"]) == {"wer", "cer"} and overall["headline"] == "wer"
    assert res.summary["signatures"]["wer"].startswith("wer|") and "lib:jiwer" in res.summary["signatures"]["wer"]
    assert not (tmp_path / "r" / "answers_for_rating.jsonl").exists()


def test_cer_is_the_headline_for_a_script_without_spaces_and_8khz_audio_is_resampled(tiny_asr, tmp_path):
    rows = {"speech": [
        {"id": "th-1", "language": "th", "transcript": "สวัสดีครับ", "audio": wav_bytes(sample_rate=8000, seed=3),
         "sample_rate": 8000},
        {"id": "sw-1", "language": "sw", "transcript": "habari", "audio": wav_bytes(seed=4)},
    ]}
    rel = write_release(tmp_path / "rel", rows)
    res = evaluate(rel, f"asr:{tiny_asr}", tmp_path / "r", progress=False)
    assert res.summary["by"]["language"]["th"]["headline"] == "cer"
    assert res.summary["by"]["language"]["sw"]["headline"] == "wer"
    again = evaluate(rel, f"asr:{tiny_asr}", tmp_path / "r", progress=False)
    assert again.computed == 0


def test_a_text_model_cannot_take_a_speech_only_release(tiny_lm, tmp_path):
    rel = write_release(tmp_path / "rel", {"speech": [{"language": "sw", "transcript": "habari"}]})
    with pytest.raises(EvaluationError, match="has only speech items"):
        evaluate(rel, f"hf:{tiny_lm}", tmp_path / "r")
    assert not (tmp_path / "r").exists()
