"""The layer rule of DESIGN section 4, checked with import-linter (the `dev` extra).

Top to bottom: the `jamii` command, the two Streamlit apps, the shared web layer, releases and
scoring, core, and the seeds (data only). A module may import only the layers below its own,
imports inside functions included; the two apps never import each other, nor do datasheets and
evaluate; only the apps and the web layer import Streamlit. To see every broken import:
`.venv/bin/python -m pytest -q tests/test_layers.py`.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

PACKAGES = ["jamii.cli", "jamii.collector", "jamii.dashboard", "jamii.web", "jamii.datasheets",
            "jamii.evaluate", "jamii.core", "jamii.seeds"]

CONTRACTS = """
[importlinter:contract:layers]
name = Each layer imports only the layers below it
type = layers
layers =
    jamii.cli
    jamii.collector | jamii.dashboard
    (jamii.web)
    jamii.datasheets | jamii.evaluate
    jamii.core
    jamii.seeds

[importlinter:contract:streamlit]
name = Streamlit is imported only by the apps and the web layer
type = forbidden
source_modules =
    jamii.cli
    jamii.datasheets
    jamii.evaluate
    jamii.core
    jamii.seeds
forbidden_modules =
    streamlit
allow_indirect_imports = True
"""


def _config(path: Path) -> Path:
    present = [p for p in PACKAGES if importlib.util.find_spec(p) is not None]  # web may not exist yet
    roots = "".join(f"\n    {p}" for p in present)
    path.write_text(f"[importlinter]\nroot_packages ={roots}\ninclude_external_packages = True\n"
                    + CONTRACTS, encoding="utf-8")
    return path


def test_layers_import_only_downwards(tmp_path):
    config = _config(tmp_path / "importlinter.ini")
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--config", str(config), "--no-cache", "--no-logo"],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_package_names_the_command_line():
    """Not even as an importlib string: the command line is on top, and nothing reaches up."""
    root = Path(__file__).resolve().parents[1]
    found = [f"{path.relative_to(root)}:{n}"
             for folder in ("core", "collector", "dashboard", "web", "datasheets", "evaluate", "seeds")
             for path in sorted((root / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if "jamii.cli" in line]
    assert not found
