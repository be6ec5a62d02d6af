"""Running a local model over many requests in batches: out-of-memory halving and CPU streams.

`hf` and `asr` share this. A batch is a `(start, stop)` range of the backend's sorted requests;
the backend's `run_batch(start, stop)` does the model work and returns that batch's answers.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import torch

from jamii.evaluate._backends import BackendError

AUTO_START = 64
"""The first batch size tried with `batch_size="auto"`."""


def is_oom(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU out-of-memory errors."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    )


def cpu_streams(device: str) -> tuple[int, int]:
    """(batches generated at once, torch threads each) for a model on `device`.

    On a CPU, two batches side by side, each on half of torch's threads, beat one batch on all
    of them: most of a forward pass is operations too small to split well across threads, so
    one stream leaves cores idle. Measured on 2 cores with the benchmark's 3M-parameter model,
    batches of 32: 25-35% more items per second, the same greedy text. On a GPU, or with a
    single thread, one stream. `JAMII_CPU_STREAMS=1` turns it off.
    """
    threads = torch.get_num_threads()
    wanted = os.environ.get("JAMII_CPU_STREAMS", "").strip()
    if wanted and not (wanted.isdigit() and int(wanted) >= 1):
        raise BackendError(f"JAMII_CPU_STREAMS must be a whole number of 1 or more, not {wanted!r}")
    streams = int(wanted) if wanted else 2
    if device != "cpu" or threads < 2:
        return 1, threads
    streams = min(streams, threads)
    return streams, max(1, threads // streams)


def halving_batches(n_items: int, batch_size: int | str, run_batch: Callable[[int, int], object],
                    on_size: Callable[[int], None] | None = None, *, streams: int = 1,
                    threads_per_stream: int | None = None) -> Iterator:
    """Call `run_batch(start, stop)` over `range(n_items)` in batches and yield what each returns,
    in the order they finish.

    `batch_size="auto"` starts at AUTO_START and halves on out-of-memory; a fixed size that runs
    out of memory raises `BackendError` telling the user to lower it. With `streams > 1`,
    that many batches run at once in threads (each with `threads_per_stream` torch threads),
    once a batch has fitted; if two at once do not fit, the batch is run again alone and the
    rest follow one at a time. `on_size(size)` hears the size of each batch that succeeded.
    """
    auto = batch_size == "auto"
    size = min(AUTO_START, max(n_items, 1)) if auto else int(batch_size)
    spans: deque[tuple[int, int]] = deque([(0, n_items)] if n_items else [])
    """What is left to run; a batch given back by an out-of-memory error goes to the front."""

    def take() -> tuple[int, int]:
        start, stop = spans.popleft()
        if stop - start > size:
            spans.appendleft((start + size, stop))
            stop = start + size
        return start, stop

    def out_of_memory(exc: BaseException, span: tuple[int, int]) -> None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if not auto:
            raise BackendError(f"out of memory at batch size {size}: pass a smaller --batch-size") from exc
        spans.appendleft(span)

    concurrent = streams > 1 and not auto  # auto: one batch at a time until one fits
    threads_before = torch.get_num_threads()
    pool = None
    in_flight: dict[Future, tuple[int, int]] = {}
    try:
        while spans or in_flight:
            if in_flight or concurrent:
                if pool is None:
                    pool = ThreadPoolExecutor(streams, thread_name_prefix="jamii-batch",
                                              initializer=torch.set_num_threads,
                                              initargs=(threads_per_stream or 1,))
                while concurrent and spans and len(in_flight) < streams:
                    span = take()
                    in_flight[pool.submit(run_batch, *span)] = span
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    span = in_flight.pop(future)
                    exc = future.exception()
                    if exc is None:
                        if on_size is not None:
                            on_size(span[1] - span[0])
                        yield future.result()
                    elif not is_oom(exc):
                        raise exc
                    else:  # two batches at once did not fit: this one again, alone
                        out_of_memory(exc, span)
                        concurrent = False
                continue
            span = take()
            try:
                result = run_batch(*span)
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled
                if not is_oom(exc):
                    raise
                out_of_memory(exc, span)
                if size == 1:
                    raise BackendError("out of memory at batch size 1: the model does not fit") from exc
                size //= 2
                continue
            if on_size is not None:
                on_size(span[1] - span[0])
            if streams > 1 and auto and pool is None:
                concurrent = True  # the size fits: the rest go side by side
            yield result
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            # where a build's thread count is process-wide rather than per thread, the
            # streams' setting would outlive them
            torch.set_num_threads(threads_before)
