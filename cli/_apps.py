from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from jamii.cli._common import data_option, db_option


def _run_streamlit(app: Path, port: int, db_url: str | None, data_dir: str | None, headless: bool) -> None:
    env = dict(os.environ)
    if db_url:
        env["JAMII_DB"] = db_url
    if data_dir:
        env["JAMII_DATA"] = data_dir
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
           "--server.headless", "true" if headless else "false",
           "--browser.gatherUsageStats", "false"]
    raise SystemExit(subprocess.call(cmd, env=env, cwd=app.parent))


@click.command("collect")
@click.option("--port", default=8501, show_default=True)
@click.option("--headless/--open-browser", default=True, show_default=True)
@db_option
@data_option
def collect_command(port, headless, db_url, data_dir) -> None:
    """Start the collector web app on the store."""
    from jamii import collector

    _run_streamlit(Path(collector.__file__).parent / "app.py", port, db_url, data_dir, headless)


@click.command("dashboard")
@click.option("--port", default=8502, show_default=True)
@click.option("--results", type=click.Path(file_okay=False), default=None, envvar="JAMII_RESULTS",
              help="Folder whose subfolders are `jamii evaluate` results (default: JAMII_DATA/results).")
@click.option("--headless/--open-browser", default=True, show_default=True)
@db_option
@data_option
def dashboard_command(port, headless, results, db_url, data_dir) -> None:
    """Start the dashboard: leaderboards, coverage, representation, agreement, compensation."""
    from jamii import dashboard

    if results:
        os.environ["JAMII_RESULTS"] = str(Path(results).resolve())
    _run_streamlit(Path(dashboard.__file__).parent / "app.py", port, db_url, data_dir, headless)
