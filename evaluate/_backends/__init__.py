"""Model backends behind one small interface, chosen by the scheme of a model spec.

    hf:PATH_OR_ID            transformers causal LM, in process (batched, left padded)
    openai:BASE_URL#MODEL    any OpenAI-compatible server (llama.cpp, Ollama, vLLM, transformers serve)
    asr:PATH_OR_ID           transformers speech-recognition pipeline (Whisper, MMS, wav2vec2 CTC)

Each backend module is imported only when its scheme is used, so torch and transformers load
only for `hf` and `asr`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import import_module
from pathlib import Path


class BackendError(RuntimeError):
    """A model cannot be loaded or reached; the message says what to fix."""


@dataclass(frozen=True)
class GenParams:
    """Generation parameters. Decoding is greedy: a benchmark score must be reproducible."""

    max_new_tokens: int = 256
    """Most tokens generated per answer."""
    min_new_tokens: int = 0
    """Fewest tokens generated per answer (`hf` only; servers ignore it)."""

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError("min_new_tokens must be between 0 and max_new_tokens")

    def as_dict(self) -> dict:
        return {**asdict(self), "do_sample": False}


class Backend:
    """What every backend offers.

    `generate` and `transcribe` yield lists of `(index, text)` as they finish: one list per
    batch that finished together (one request at a time for servers), in any order.
    """

    scheme: str = ""
    tasks: frozenset[str] = frozenset()
    spec: str
    model_id: str
    revision: str | None = None

    def describe(self) -> dict:
        """Model id, revision and backend settings, for config.json and signatures."""
        return {"spec": self.spec, "backend": self.scheme, "id": self.model_id, "revision": self.revision}

    def generate(self, prompts: Sequence[str], params: GenParams) -> Iterator[list[tuple[int, str]]]:
        raise BackendError(f"the {self.scheme} backend does not generate text")

    def transcribe(self, audios: Sequence[bytes]) -> Iterator[list[tuple[int, str]]]:
        raise BackendError(f"the {self.scheme} backend does not transcribe speech")

    def close(self) -> None:
        pass


_REGISTRY = {
    "hf": "jamii.evaluate._backends._hf:HFBackend",
    "openai": "jamii.evaluate._backends._openai:OpenAIBackend",
    "asr": "jamii.evaluate._backends._asr:ASRBackend",
}
SCHEMES = tuple(_REGISTRY)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `scheme:rest`, checking the scheme."""
    scheme, sep, rest = spec.partition(":")
    if not sep or scheme not in _REGISTRY or not rest:
        raise BackendError(
            f"unknown model spec {spec!r}: write hf:PATH_OR_ID, openai:BASE_URL#MODEL or asr:PATH_OR_ID"
        )
    return scheme, rest


def load_backend(spec: str, *, batch_size: int | str = "auto", concurrency: int = 8) -> Backend:
    """Build the backend a spec names (loads the model, or checks the server answers)."""
    scheme, rest = parse_spec(spec)
    module, _, name = _REGISTRY[scheme].partition(":")
    try:
        cls = getattr(import_module(module), name)
    except ImportError as exc:
        raise BackendError(
            f"the {scheme} backend needs {exc.name}, which is not installed: "
            "pip install 'jamii[models]'"
        ) from exc
    return cls(rest, spec=spec, batch_size=batch_size, concurrency=concurrency)


def identify(spec: str) -> dict:
    """The spec and revision of the model a spec names, found without loading it.

    These two key every cached request (`jamii.evaluate._tasks.cache_key`), and a loaded
    backend's `describe()` gives the same two: a local folder is fingerprinted from its files
    (`model_revision`), a Hub id gives the commit of its cached snapshot, and a server is asked
    for its model list (one request, nothing generated). Neither torch nor the weights load.

    Raises:
        BackendError: the spec, the folder or the server is wrong (the message says how).
    """
    scheme, rest = parse_spec(spec)
    if scheme == "openai":
        from jamii.evaluate._backends._openai import served_revision

        return {"spec": spec, "revision": served_revision(rest, spec)}
    check_local_or_cached(rest)
    return {"spec": spec, "revision": model_revision(rest)}


def model_revision(path_or_id: str, revision: str | None = None) -> str | None:
    """A revision that changes when the model changes.

    For a local folder: a sha256 over its files' names, sizes and contents (large weight files
    contribute their size and first and last MiB, so a 15 GB model is fingerprinted in
    milliseconds). For a Hub id: the commit of the cached snapshot.
    """
    folder = Path(path_or_id).expanduser()
    if folder.is_dir():
        h = hashlib.sha256()
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            size = f.stat().st_size
            h.update(f"{f.relative_to(folder)}\0{size}\0".encode())
            with f.open("rb") as fh:
                if size <= 64 << 20:
                    h.update(fh.read())
                else:
                    h.update(fh.read(1 << 20))
                    fh.seek(-(1 << 20), 2)
                    h.update(fh.read())
        return "sha256:" + h.hexdigest()[:16]
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(path_or_id, "config.json", revision=revision)
    if isinstance(found, str):
        return Path(found).parent.name
    return revision


def check_local_or_cached(path_or_id: str) -> None:
    """Fail early, with the fix, when a model is neither a folder nor a Hub id."""
    p = Path(path_or_id).expanduser()
    if p.exists() and not p.is_dir():
        raise BackendError(f"{path_or_id} is a file; pass the folder that holds config.json")
    if not p.exists() and (path_or_id.startswith((".", "/", "~")) or path_or_id.count("/") > 1):
        raise BackendError(f"no model folder at {path_or_id}; check the path")
