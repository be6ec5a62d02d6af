"""`jamii evaluate` and `jamii export-task`: thin click commands over `jamii.evaluate`."""

from __future__ import annotations

import click

from jamii.core.schema import ITEM_KINDS


def _split_list(values: tuple[str, ...]) -> list[str] | None:
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


def _batch_size(ctx, param, value: str):
    if value == "auto":
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise click.BadParameter("write auto or a positive number")


@click.command("evaluate")
@click.option("--data", required=True, metavar="DIR_OR_HUB_ID", help="Release folder or Hub dataset id (org/name).")
@click.option("--model", "model", required=True, metavar="SPEC",
              help="hf:PATH_OR_ID, openai:BASE_URL#MODEL or asr:PATH_OR_ID.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Results folder to write.")
@click.option("--kinds", multiple=True, metavar="KIND[,KIND]",
              help=f"Item kinds ({', '.join(ITEM_KINDS)}); default: all the model can do.")
@click.option("--languages", multiple=True, metavar="TAG[,TAG]", help="Keep these BCP-47 languages only.")
@click.option("--split", default="test", show_default=True, help="Release split to evaluate.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N items per kind.")
@click.option("--batch-size", default="auto", show_default=True, callback=_batch_size,
              help="auto (halve on out-of-memory) or N.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True,
              help="Most tokens per answer (greedy decoding).")
@click.option("--min-new-tokens", type=click.IntRange(min=0), default=0, show_default=True,
              help="Fewest tokens per answer (hf backend), e.g. to time a fixed amount of work.")
@click.option("--judge", metavar="SPEC", help="Model grading contextual answers against their rubric.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="Requests in flight at once (openai backend).")
@click.option("--cache", type=click.Path(dir_okay=False), help="Cache file; default OUT/cache.sqlite3.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def evaluate_command(data, model, out, kinds, languages, split, limit, batch_size, max_new_tokens,
                     min_new_tokens, judge, concurrency, cache, no_progress):
    """Score a local model on a release; results go to OUT (samples, summary, config).

    Finished requests are cached, so an interrupted run resumes where it stopped and a repeated
    run computes nothing new.
    """
    from jamii.evaluate import EvaluationError, evaluate

    try:
        results = evaluate(
            data, model, out, kinds=_split_list(kinds), languages=_split_list(languages), split=split,
            limit=limit, batch_size=batch_size, max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens, judge=judge,
            concurrency=concurrency, cache=cache, progress=not no_progress,
        )
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(results.table)
    run = results.summary["run"]
    judge_info = results.summary.get("judge")
    if judge_info:
        click.echo(f"judge: {judge_info['judged']} answers graded, "
                   f"{judge_info['parse_failures']} unparseable outputs (counted, not dropped)")
    click.echo(f"{results.summary['n_samples']} samples: {run['computed']} requests computed, "
               f"{run['cached']} answers from the cache, {run['seconds']:.1f} s. Results in {results.out}")


@click.command("export-task")
@click.argument("data", metavar="DIR_OR_HUB_ID")
@click.option("--to", "target", type=click.Choice(["lm-eval", "inspect"]), default="lm-eval", show_default=True,
              help="Harness to export to: lm-evaluation-harness or inspect-ai.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Task folder to write.")
@click.option("--task-name", help="Task name; default jamii_<dataset name>.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
def export_task_command(data, target, out, task_name, max_new_tokens):
    """Export a release's generation items as an lm-evaluation-harness task (YAML plus data) or an
    inspect-ai task (task.py plus JSONL), with jamii's prompts and chrF++."""
    from jamii.evaluate import ReleaseError, export_inspect_task, export_lm_eval_task

    try:
        if target == "inspect":
            name, *splits = export_inspect_task(data, out, task_name=task_name, max_new_tokens=max_new_tokens)
        else:
            names = export_lm_eval_task(data, out, task_name=task_name, max_new_tokens=max_new_tokens)
    except ReleaseError as exc:
        raise click.ClickException(str(exc)) from exc
    if target == "inspect":
        click.echo(f"wrote the inspect task {name} ({', '.join(splits)}) to {out}")
        click.echo(f"run: cd {out} && LOCAL_BASE_URL=http://HOST:PORT/v1 LOCAL_API_KEY=none "
                   "inspect eval task.py --model openai-api/local/MODEL")
        return
    click.echo(f"wrote {len(names)} tasks to {out}: {', '.join(names)}")
    click.echo(f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {out} --tasks {names[0]}")
