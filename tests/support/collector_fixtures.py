"""Helpers for the collector's tests: a seeded store, people with or without consent, WAV clips."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "collector" / "app.py"


def seeded_store(data_dir: Path):
    """A store in data_dir with the example campaign (jamii.core.seeding)."""
    from jamii.core.seeding import load_seeds
    from jamii.core.store import Store

    store = Store.open(data_dir=data_dir)
    load_seeds(store)
    return store


def person(store, *, roles=("contributor",), consent: dict | None = None, language: str = "sw",
           **profile):
    """A new person; with consent={scope: bool} they have accepted the current text."""
    from jamii.core.store import OPERATOR

    who, code = store.add_contributor(roles=list(roles), **profile, actor_id=OPERATOR)
    if consent is not None:
        camp = store.campaigns()[0]
        text = store.consent_text(camp.id, language)
        store.accept_consent(who.id, text.id, consent)
    return who, code


ALL_SCOPES = {"open_publication": True, "model_evaluation": True, "voice": True}


def wav(seconds: float, *, rate: int = 16000, amplitude: float = 0.3, freq: float = 220.0) -> bytes:
    """A mono 16-bit WAV: a tone, or silence with amplitude=0."""
    n = int(seconds * rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate)))
            for i in range(n)))
    return buf.getvalue()
