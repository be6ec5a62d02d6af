from __future__ import annotations

import os
from pathlib import Path

import click

from jamii.cli._common import data_option, db_option


WARM = ("pandas", "altair", "sqlalchemy", "jamii.core.store", "jamii.core.checks")
"""Imported before the server starts, so a visitor's first page does not wait for them (about
two seconds on a 2-core machine; a bare Streamlit page's first render is 2.5 s). Modules that
create Streamlit caches at import (`*/ui.py`) are left to the first run, which has a runtime."""


def _run_streamlit(app: Path, port: int, db_url: str | None, data_dir: str | None, headless: bool,
                   warm: tuple[str, ...] = ()) -> None:
    """Serve `app` with Streamlit in this process, after importing what its pages need."""
    import importlib

    if db_url:
        os.environ["JAMII_DB"] = db_url
    if data_dir:
        os.environ["JAMII_DATA"] = data_dir
    for module in (*WARM, *warm):
        importlib.import_module(module)
    from streamlit.web import cli as streamlit_cli

    os.chdir(app.parent)
    streamlit_cli.main(args=["run", str(app), "--server.port", str(port),
                             "--server.headless", "true" if headless else "false",
                             "--browser.gatherUsageStats", "false"], prog_name="streamlit")


@click.command("collect")
@click.option("--port", default=8501, show_default=True)
@click.option("--headless/--open-browser", default=True, show_default=True)
@db_option
@data_option
def collect_command(port, headless, db_url, data_dir) -> None:
    """Start the collector web app on the store."""
    from jamii import collector

    _run_streamlit(Path(collector.__file__).parent / "app.py", port, db_url, data_dir, headless,
                   warm=("jamii.core.items", "jamii.core.langtags"))


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
    _run_streamlit(Path(dashboard.__file__).parent / "app.py", port, db_url, data_dir, headless,
                   warm=("jamii.dashboard.community", "jamii.dashboard.leaderboard", "jamii.dashboard.charts",
                         "jamii.evaluate._community"))
