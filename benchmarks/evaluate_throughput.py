"""Generation throughput of `jamii evaluate` against a naive loop, bare batched generate and lm-eval.

    python benchmarks/evaluate_throughput.py [--items 400] [--batch-size 32] [--new-tokens 32]
                                             [--lm-eval-python PATH]

In one process and on one locally built model (a GPT-2-shaped model of a few million
parameters, random weights, a byte-level BPE tokenizer trained here; nothing is downloaded),
400 generation items of 5-120 prompt tokens each get exactly 32 new tokens, greedily, from:

1. a naive loop, one request at a time;
2. bare `model.generate` on length-sorted, left-padded batches of 32;
3. lm-evaluation-harness's `hf` backend at batch size 32, on the task `jamii export-task` writes,
   when lm-eval is installed in a separate environment (`--lm-eval-python`, or the
   LM_EVAL_PYTHON variable, names its python); it is never installed into the project venv;
4. `jamii evaluate` (batch size 32, model loaded beforehand like the others; scoring, bootstrap
   summary and all files included), then the same run again, which must come entirely from
   the cache.

Batched generate and `jamii evaluate` are timed `--repeats` times and the fastest kept.

Prints a table and a final JSON line with items per second and the ratios, and checks that
every method produced the same greedy text (exit 1 if not). Targets, printed and never asserted:
`jamii evaluate` at 0.95x or better of bare batched generate; a repeated run 50x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

TARGET_VS_BATCHED = 0.95
TARGET_REPEAT_SPEEDUP = 50.0


def build_items(tokenizer, n: int, seed: int = 0) -> list[dict]:
    """n prompt/response items whose prompts are 5 to 120 tokens long."""
    from support.tiny_models import WORDS

    rng = random.Random(seed)
    langs = ("sw", "yo", "am")
    items = []
    for i in range(n):
        lang = langs[i % 3]
        target = rng.randint(5, 120)
        words: list[str] = []
        while True:
            words.append(rng.choice(WORDS[lang]))
            ids = tokenizer(" ".join(words))["input_ids"]
            if len(ids) >= target:
                break
        text = tokenizer.decode(ids[:target])
        items.append({"id": f"b{i:04d}", "language": lang, "domain": ("health", "agriculture")[i % 2],
                      "prompt": text, "response": " ".join(rng.choice(WORDS[lang]) for _ in range(8))})
    return items


def naive(model, tokenizer, prompts, new_tokens):
    import torch

    out = []
    for p in prompts:
        enc = tokenizer(p, return_tensors="pt")
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        out.append(tokenizer.decode(gen[0, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    return out


def batched(model, tokenizer, prompts, new_tokens, batch_size):
    import torch

    tokenizer.padding_side = "left"
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    out = [None] * len(prompts)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
        with torch.inference_mode():
            gen = model.generate(**batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(gen[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        for i, t in zip(idx, texts):
            out[i] = t
    return out


def run_lm_eval(python: str, model_dir: Path, release: Path, work: Path, ids: list[str], new_tokens: int,
                batch_size: int) -> tuple[float, list[str]] | None:
    import yaml

    from jamii.evaluate import export_lm_eval_task

    task_dir = work / "lm_eval_task"
    names = export_lm_eval_task(release, task_dir, task_name="jamii_bench", max_new_tokens=new_tokens,
                                generation_kwargs={"min_new_tokens": new_tokens})
    template = task_dir / "_jamii_bench_template.yaml"
    assert yaml is not None and template.exists()
    out_dir = work / "lm_eval_out"
    cmd = [python, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32",
           "--tasks", names[0], "--include_path", str(task_dir), "--batch_size", str(batch_size),
           "--device", "cpu", "--log_samples", "--output_path", str(out_dir)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"lm-eval failed (exit {proc.returncode}); its last output:\n{proc.stderr[-3000:]}")
        return None
    samples = sorted(out_dir.rglob("samples_*.jsonl"))
    by_id = {}
    for line in samples[-1].read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        by_id[s["doc"]["id"]] = s["resps"][0][0]
    return seconds, [by_id.get(i) for i in ids]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--lm-eval-python", default=os.environ.get("LM_EVAL_PYTHON"),
                        help="python of a separate environment with lm-eval installed")
    parser.add_argument("--repeats", type=int, default=3,
                        help="time batched generate and jamii evaluate this many times, keep the fastest "
                             "(shared machines are noisy); the naive loop runs once")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jamii.evaluate import evaluate, load_backend
    from support.release_fixture import write_release
    from support.tiny_models import build_tiny_gpt2

    work = Path(tempfile.mkdtemp(prefix="jamii-bench-"))
    try:
        model_dir = build_tiny_gpt2(work / "model", n_embd=256, n_layer=4, n_head=4, vocab_size=2000)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        n_params = sum(p.numel() for p in model.parameters())
        items = build_items(tokenizer, args.items)
        lengths = [len(tokenizer(i["prompt"])["input_ids"]) for i in items]
        release = write_release(work / "release", {"prompt_response": items}, name="bench", version="1.0.0")
        ids = [i["id"] for i in items]
        prompts = [i["prompt"] for i in items]
        print(f"model: GPT-2 shape, {n_params / 1e6:.1f}M parameters; {len(items)} items, prompt tokens "
              f"{min(lengths)}-{max(lengths)}; {args.new_tokens} new tokens each; torch threads "
              f"{torch.get_num_threads()}")

        results: dict[str, dict] = {}
        texts: dict[str, list[str]] = {}

        def record(name, seconds, out):
            results[name] = {"seconds": round(seconds, 3), "items_per_second": round(len(items) / seconds, 2)}
            texts[name] = out
            print(f"{name:<22} {seconds:8.2f} s  {len(items) / seconds:8.1f} items/s", flush=True)

        t = time.perf_counter()
        out = naive(model, tokenizer, prompts, args.new_tokens)
        record("naive_loop", time.perf_counter() - t, out)

        if args.lm_eval_python:
            got = run_lm_eval(args.lm_eval_python, model_dir, release, work, ids, args.new_tokens, args.batch_size)
            if got:
                record("lm_eval_hf", *got)
                results["lm_eval_hf"]["note"] = "wall time of the lm_eval process, model loading included"
        else:
            print("lm-eval: skipped (no separate environment with lm-eval; pass --lm-eval-python PATH "
                  "or set LM_EVAL_PYTHON; never install it into the project venv)")

        backend = load_backend(f"hf:{model_dir}", batch_size=args.batch_size)
        # batched generate and jamii evaluate alternate, so load from other processes falls on both
        best, seconds = float("inf"), float("inf")
        for rep in range(args.repeats):
            t = time.perf_counter()
            out = batched(model, tokenizer, prompts, args.new_tokens, args.batch_size)
            best = min(best, time.perf_counter() - t)
            out_dir = work / f"results-{rep}"  # a fresh folder and cache each time: all computed
            t = time.perf_counter()
            evaluate(release, f"hf:{model_dir}", out_dir, batch_size=args.batch_size,
                     max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, progress=False,
                     backend=backend)
            seconds = min(seconds, time.perf_counter() - t)
        record("batched_generate", best, out)

        def preds():
            rows = [json.loads(x) for x in (out_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
            by_id = {r["id"]: r["prediction"] for r in rows}
            return [by_id.get(i) for i in ids]

        record("jamii_evaluate", seconds, preds())
        t = time.perf_counter()
        again = evaluate(release, f"hf:{model_dir}", out_dir, batch_size=args.batch_size,
                         max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, progress=False,
                         backend=backend)
        record("jamii_evaluate_repeat", time.perf_counter() - t, preds())
        results["jamii_evaluate_repeat"]["computed"] = again.computed
        backend.close()

        reference = texts["batched_generate"]
        same = {name: sum(a == b for a, b in zip(out, reference)) for name, out in texts.items()}
        identical = all(v == len(items) for v in same.values())
        ratios = {
            "jamii_vs_batched": round(results["jamii_evaluate"]["items_per_second"]
                                      / results["batched_generate"]["items_per_second"], 3),
            "batched_vs_naive": round(results["batched_generate"]["items_per_second"]
                                      / results["naive_loop"]["items_per_second"], 2),
            "repeat_speedup": round(results["jamii_evaluate"]["seconds"]
                                    / results["jamii_evaluate_repeat"]["seconds"], 1),
        }
        if "lm_eval_hf" in results:
            ratios["jamii_vs_lm_eval"] = round(results["jamii_evaluate"]["items_per_second"]
                                               / results["lm_eval_hf"]["items_per_second"], 2)
        targets = {
            "jamii_vs_batched": f">= {TARGET_VS_BATCHED}: {'met' if ratios['jamii_vs_batched'] >= TARGET_VS_BATCHED else 'MISSED'}",
            "repeat_speedup": f">= {TARGET_REPEAT_SPEEDUP}: {'met' if ratios['repeat_speedup'] >= TARGET_REPEAT_SPEEDUP else 'MISSED'}",
        }
        print(f"same greedy text as batched generate: {same}")
        print(json.dumps({"items": len(items), "new_tokens": args.new_tokens, "batch_size": args.batch_size,
                          "parameters": n_params, "methods": results, "ratios": ratios, "targets": targets,
                          "identical_text": identical}))
        return 0 if identical else 1
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
