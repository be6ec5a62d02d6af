"""`asr:PATH_OR_ID`: the transformers automatic-speech-recognition pipeline.

Works for Whisper, MMS and wav2vec2 CTC models. WAV bytes are decoded with soundfile, mixed
down to mono, and resampled to the model's rate with scipy when they differ. Clips are sorted
by length so batches pad little.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import numpy as np
import soundfile as sf
import torch
from transformers import pipeline

from jamii.evaluate._backends import Backend, BackendError, check_local_or_cached, model_revision
from jamii.evaluate._backends._batches import halving_batches


def decode_wav(data: bytes, rate: int) -> np.ndarray:
    """Mono float32 samples at `rate` from WAV (or FLAC/OGG) bytes."""
    samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if sr != rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sr, rate)
        mono = resample_poly(mono, rate // g, sr // g).astype(np.float32)
    return mono


class ASRBackend(Backend):
    scheme = "asr"
    tasks = frozenset({"transcribe"})

    def __init__(self, path_or_id: str, *, spec: str, batch_size="auto", revision: str | None = None, **_):
        check_local_or_cached(path_or_id)
        self.spec, self.model_id, self.batch_size = spec, path_or_id, batch_size
        device = 0 if torch.cuda.is_available() else -1
        try:
            self.pipe = pipeline("automatic-speech-recognition", model=path_or_id, revision=revision, device=device)
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the speech model {path_or_id!r}: {exc}") from exc
        self.rate = self.pipe.feature_extractor.sampling_rate
        self.revision = model_revision(path_or_id, revision)

    def describe(self) -> dict:
        return {**super().describe(), "batch_size": self.batch_size, "sampling_rate": self.rate,
                "architecture": type(self.pipe.model).__name__}

    def transcribe(self, audios: Sequence[bytes]) -> Iterator[list[tuple[int, str]]]:
        arrays = [decode_wav(a, self.rate) for a in audios]
        order = sorted(range(len(arrays)), key=lambda i: -len(arrays[i]))
        def run(start: int, stop: int) -> list[tuple[int, str]]:
            idx = order[start:stop]
            inputs = [{"raw": arrays[i], "sampling_rate": self.rate} for i in idx]
            outputs = self.pipe(inputs, batch_size=len(idx))
            return [(i, o["text"]) for i, o in zip(idx, outputs)]

        yield from halving_batches(len(order), self.batch_size, run)

    def close(self) -> None:
        del self.pipe
