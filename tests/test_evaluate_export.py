"""`jamii export-task --to lm-eval`: an lm-evaluation-harness task (YAML plus data) of generation items."""

from __future__ import annotations

import importlib.util
import pyarrow.parquet as pq
import yaml
from click.testing import CliRunner

from jamii.evaluate import score
from jamii.cli._evaluate import export_task_command
from support.evaluate_fixtures import release  # noqa: F401
from support.release_fixture import write_release


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))


def test_export_writes_yaml_tasks_data_and_a_chrf_plus_plus_aggregation(release, tmp_path):
    out = tmp_path / "task"
    result = CliRunner().invoke(export_task_command, [str(release), "--to", "lm-eval", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "jamii_jamii_test" in result.output
    template = yaml.load((out / "_jamii_jamii_test_template.yaml").read_text(), Loader=_Loader)
    assert template["output_type"] == "generate_until"
    assert template["custom_dataset"] == ("function", "utils.load")
    assert template["metric_list"][0] == {"metric": "chrf_pp", "aggregation": ("function", "utils.chrf_pp"),
                                          "higher_is_better": True}
    main = yaml.load((out / "jamii_jamii_test.yaml").read_text(), Loader=_Loader)
    assert main == {"include": "_jamii_jamii_test_template.yaml", "task": "jamii_jamii_test"}
    yo = yaml.load((out / "jamii_jamii_test_yo.yaml").read_text(), Loader=_Loader)
    assert yo["dataset_kwargs"] == {"language": "yo"}

    test_docs = pq.read_table(out / "data" / "test.parquet").to_pylist()
    assert {d["kind"] for d in test_docs} == {"prompt_response", "contextual"}  # no speech
    assert len(test_docs) == 7
    assert next(d for d in test_docs if d["id"] == "pr-am-1")["prompt"] == "በቆሎ መቼ ይዘራል?"

    # the task's own helpers load the data relative to themselves and score as jamii does
    spec = importlib.util.spec_from_file_location("jamii_task_utils", out / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    ds = utils.load(language="yo", version=1.0)
    assert {d["language"] for d in ds["test"]} == {"yo"}
    preds = ["A máa ń gbin àgbàdo", "Dúró kí òjò tó rọ̀"]
    docs = [d for d in test_docs if d["id"] in ("pr-yo-1", "cx-yo-1")]
    docs.sort(key=lambda d: d["id"] != "pr-yo-1")
    items = [utils.process_results(d, [p])["chrf_pp"] for d, p in zip(docs, preds)]
    assert utils.chrf_pp(items) == score("chrf", preds, [d["references"] for d in docs]).value


def test_export_refuses_a_release_without_generation_items_and_a_used_folder(tmp_path, release):
    speech_only = write_release(tmp_path / "rel", {"speech": [{"language": "sw", "transcript": "habari"}]})
    runner = CliRunner()
    result = runner.invoke(export_task_command, [str(speech_only), "--out", str(tmp_path / "t")])
    assert result.exit_code == 1 and "no generation items" in result.output
    assert not (tmp_path / "t").exists()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    result = runner.invoke(export_task_command, [str(release), "--out", str(tmp_path / "used")])
    assert result.exit_code == 1 and "not empty" in result.output
