"""`hf:PATH_OR_ID`: a transformers causal LM in this process.

Prompts go through the model's chat template when it has one. Requests are sorted by length
(longest first, so an out-of-memory error shows at once) and generated in left-padded batches;
with `batch_size="auto"` the batch starts at 64 and halves on out-of-memory. On a CPU two
batches generate side by side, each on half of the threads (see `cpu_streams`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from jamii.evaluate._backends import Backend, BackendError, GenParams, check_local_or_cached, model_revision
from jamii.evaluate._backends._batches import cpu_streams, halving_batches


class HFBackend(Backend):
    scheme = "hf"
    tasks = frozenset({"generate"})

    def __init__(self, path_or_id: str, *, spec: str, batch_size="auto", revision: str | None = None, **_):
        check_local_or_cached(path_or_id)
        self.spec, self.model_id, self.batch_size = spec, path_or_id, batch_size
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.streams, self.threads_per_stream = cpu_streams(self.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path_or_id, revision=revision)
            self.model = AutoModelForCausalLM.from_pretrained(path_or_id, revision=revision, dtype="auto")
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the model {path_or_id!r}: {exc}") from exc
        self.model.to(self.device).eval()
        self.revision = model_revision(path_or_id, revision)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        self._tokenizer_lock = threading.Lock()  # padding and decoding from two streams at once
        self.truncated = 0
        self.largest_batch = 0
        """The largest batch that ran (with `auto`: the size found by halving)."""

    def describe(self) -> dict:
        return {
            **super().describe(),
            "chat_template": self.chat,
            "batch_size": self.batch_size,
            "device": self.device,
            "streams": self.streams,
            "threads_per_stream": self.threads_per_stream,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "context_length": getattr(self.model.config, "max_position_embeddings", None),
        }

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of each prompt, through the chat template when the model has one, in one
        batched tokenizer call (a fast tokenizer encodes a list in a single pass)."""
        if self.chat:
            texts = [self.tokenizer.apply_chat_template([{"role": "user", "content": p}],
                                                        add_generation_prompt=True, tokenize=False)
                     for p in prompts]
            return self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return self.tokenizer(list(prompts))["input_ids"]

    def fit(self, ids: list[int], max_new_tokens: int) -> list[int]:
        """Keep the end of a prompt too long for the model's context (as lm-eval does)."""
        limit = getattr(self.model.config, "max_position_embeddings", None) or getattr(
            self.model.config, "n_positions", None)
        if limit and len(ids) + max_new_tokens > limit:
            self.truncated += 1
            keep = max(1, limit - max_new_tokens)
            return ids[-keep:]
        return ids

    def generate(self, prompts: Sequence[str], params: GenParams) -> Iterator[list[tuple[int, str]]]:
        encoded = [self.fit(ids, params.max_new_tokens) for ids in self.encode(prompts)]
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        pad_id = self.tokenizer.pad_token_id

        def run(start: int, stop: int) -> list[tuple[int, str]]:
            idx = order[start:stop]
            with self._tokenizer_lock:
                batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            with torch.inference_mode():
                out = self.model.generate(
                    **batch, max_new_tokens=params.max_new_tokens, min_new_tokens=params.min_new_tokens,
                    do_sample=False, pad_token_id=pad_id,
                )
            with self._tokenizer_lock:
                texts = self.tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            return list(zip(idx, texts))

        yield from halving_batches(len(order), self.batch_size, run, on_size=self._ran, streams=self.streams,
                                   threads_per_stream=self.threads_per_stream)

    def _ran(self, size: int) -> None:
        self.largest_batch = max(self.largest_batch, size)

    def close(self) -> None:
        del self.model
