"""`jamii results export`: a thin click group over `jamii.evaluate.export_hf_eval_results`."""

from __future__ import annotations

import click


@click.group("results")
def results_group() -> None:
    """Results of `jamii evaluate` in other formats."""


@results_group.command("export")
@click.argument("results", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["hf-eval-results"]), default="hf-eval-results",
              show_default=True, help="Format to write.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder to write; default DIR/hf-eval-results (an earlier export there is replaced).")
@click.option("--dataset-repo", metavar="OWNER/NAME",
              help="Hub dataset repo of the release; needed when DIR was computed on a local folder.")
@click.option("--revision", metavar="TAG", help="The dataset's version tag; default v<version>.")
@click.option("--model-name", help="The model's name in the model-index; default the model id.")
def export_command(results, fmt, out, dataset_repo, revision, model_name):
    """Write DIR's scores as Hub `.eval_results/*.yaml` entries and a model card `model-index` block.

    Upload the entries to the model's repo with `hf upload MODEL OUT/.eval_results .eval_results`;
    merge model-index.yaml into the YAML front matter of the model card (README.md).
    """
    from jamii.evaluate import ResultsError, export_hf_eval_results

    try:
        done = export_hf_eval_results(results, out, dataset_repo=dataset_repo, revision=revision,
                                      model_name=model_name)
    except ResultsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {len(done.files)} .eval_results entries for {done.dataset_repo}"
               f"{f' at {done.revision}' if done.revision else ''} and model-index.yaml to {done.out}")
    for path in done.files:
        click.echo(f"  {path.name}")
    for note in done.skipped:
        click.echo(f"skipped {note}")
    click.echo(f"upload: hf upload MODEL {done.out}/.eval_results .eval_results")
