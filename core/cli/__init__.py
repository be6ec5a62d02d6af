"""The `jamii` command: a thin click group over library functions (DESIGN section 5).

Each subcommand lives in its own module here, or beside the part it drives
(`jamii.evaluate._cli`, `jamii.datasheets._cli`); this file only assembles them.
"""

from __future__ import annotations

import importlib

import click

from jamii.core.cli._common import not_built


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="jamii")
def cli() -> None:
    """jamii: community-owned benchmark datasets for low-resource languages."""


# (module, attribute): commands whose module may not exist until its issue lands
_COMMANDS = [
    ("jamii.core.cli._init", "init_command"),
    ("jamii.core.cli._import", "import_command"),
    ("jamii.core.cli._status", "status_command"),
    ("jamii.core.cli._users", "users_group"),
    ("jamii.core.cli._apps", "collect_command"),
    ("jamii.core.cli._apps", "dashboard_command"),
    ("jamii.core.cli._payouts", "payouts_group"),
    ("jamii.core.cli._items", "items_group"),
    ("jamii.datasheets._cli", "release_command"),
    ("jamii.datasheets._cli", "publish_command"),
    ("jamii.evaluate._cli", "evaluate_command"),
    ("jamii.evaluate._cli", "export_task_command"),
]
_PLANNED = {
    "import_command": ("import", "import items from a file"),
    "release_command": ("release", "build a release folder"),
    "publish_command": ("publish", "push a release folder to the Hugging Face Hub"),
    "evaluate_command": ("evaluate", "score a local model on a release"),
    "export_task_command": ("export-task", "export a release as an lm-evaluation-harness task"),
    "payouts_group": ("payouts", "approve and export payouts"),
    "dashboard_command": ("dashboard", "start the dashboard"),
}

for _module, _attr in _COMMANDS:
    try:
        cli.add_command(getattr(importlib.import_module(_module), _attr))
    except ModuleNotFoundError as exc:
        if exc.name != _module:  # a real import error inside a built command: show it
            raise
        name, what = _PLANNED.get(_attr, (_attr.removesuffix("_command").replace("_", "-"), _attr))
        if name not in cli.commands:
            cli.add_command(not_built(name, what))


def main() -> None:
    cli()
