from __future__ import annotations

import os
from pathlib import Path

import click

from jamii.cli._common import data_option, db_option


WARM = ("pandas", "altair", "sqlalchemy", "jamii.core.store", "jamii.core.checks")
"""Imported before the server starts, so a visitor's first page does not wait for them (about
two seconds on a 2-core machine; a bare Streamlit page's first render is 2.5 s). Modules that
create Streamlit caches at import (`*/ui.py`) are left to the first run, which has a runtime."""


def _serve_options(port: int):
    """--host, --port, --base-path and --headless/--open-browser, shared by both apps."""
    def add(fn):
        for option in reversed((
            click.option("--host", default=None,
                         help="Address to listen on (default: every interface)."),
            click.option("--port", default=port, show_default=True),
            click.option("--base-path", default=None, metavar="PATH",
                         help="Serve under this URL path (e.g. /jamii, behind a proxy); "
                              "/healthz is then PATH/healthz."),
            click.option("--headless/--open-browser", default=True, show_default=True),
        )):
            fn = option(fn)
        return fn
    return add


def _serve(app_dir: Path, serve: dict, db_url: str | None, data_dir: str | None,
           warm: tuple[str, ...] = ()) -> None:
    """Serve the app's `serve.py` (its `st.App`) in this process, after importing what its
    pages need."""
    import importlib

    if db_url:
        os.environ["JAMII_DB"] = db_url
    if os.environ.get("JAMII_DB"):
        from sqlalchemy.engine import make_url

        url = make_url(os.environ["JAMII_DB"])
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_absolute():
            os.environ["JAMII_DB"] = url.set(database=str(Path(url.database).resolve())) \
                .render_as_string(hide_password=False)
    # the server runs from the app's folder: a relative path is meant from here, so fix it now
    for name, value in (("JAMII_DATA", data_dir or os.environ.get("JAMII_DATA")),
                        ("JAMII_RESULTS", os.environ.get("JAMII_RESULTS"))):
        if value:
            os.environ[name] = str(Path(value).expanduser().resolve())
    for module in (*WARM, *warm):
        importlib.import_module(module)
    from jamii.web.serve import run

    run(app_dir / "serve.py", **serve)


@click.command("collect")
@_serve_options(port=8501)
@db_option
@data_option
def collect_command(db_url, data_dir, **serve) -> None:
    """Start the collector web app on the store."""
    import threading

    from jamii import collector
    from jamii.core.checks import warm_language_detector

    threading.Thread(target=warm_language_detector, name="warm-lingua", daemon=True).start()
    _serve(Path(collector.__file__).parent, serve, db_url, data_dir,
           warm=("jamii.core.items", "jamii.core.langtags"))


@click.command("dashboard")
@_serve_options(port=8502)
@click.option("--results", type=click.Path(file_okay=False), default=None, envvar="JAMII_RESULTS",
              help="Folder whose subfolders are `jamii evaluate` results (default: JAMII_DATA/results).")
@db_option
@data_option
def dashboard_command(results, db_url, data_dir, **serve) -> None:
    """Start the dashboard: leaderboards, coverage, representation, agreement, compensation."""
    from jamii import dashboard

    if results:
        os.environ["JAMII_RESULTS"] = str(Path(results).resolve())
    _serve(Path(dashboard.__file__).parent, serve, db_url, data_dir,
           warm=("jamii.dashboard.community", "jamii.dashboard.leaderboard", "jamii.dashboard.charts",
                 "jamii.evaluate._community"))
