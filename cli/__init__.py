"""The `jamii` command: a thin click group over library functions (DESIGN section 5).

This package is the top layer: it imports `jamii.core`, `jamii.datasheets`, `jamii.evaluate` and
the apps, and nothing imports it. Each subcommand lives in its own module here. Modules are
imported only when their command runs (click's lazy-group pattern), so `jamii --help` does not pay
for the store, the release builder or torch.
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, one-line help shown by `jamii --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("jamii.cli._init", "init_command", "Create or migrate the store and load the example campaign."),
    "collect": ("jamii.cli._apps", "collect_command", "Start the collector web app."),
    "dashboard": ("jamii.cli._apps", "dashboard_command", "Start the dashboard web app."),
    "import": ("jamii.cli._import", "import_command", "Import items from CSV, TSV, JSONL, parquet or a datasets folder."),
    "status": ("jamii.cli._status", "status_command", "Item and contributor counts of a campaign."),
    "users": ("jamii.cli._users", "users_group", "People, invite codes, roles and withdrawal."),
    "payouts": ("jamii.cli._payouts", "payouts_group", "The compensation ledger and payout CSV."),
    "items": ("jamii.cli._items", "items_group", "Personal data flagged in items, and its clearance."),
    "release": ("jamii.cli._release", "release_command", "Build a release folder, or refuse with every reason."),
    "publish": ("jamii.cli._release", "publish_command", "Upload a release folder to the Hugging Face Hub."),
    "evaluate": ("jamii.cli._evaluate", "evaluate_command", "Score a local model on a release."),
    "ratings": ("jamii.cli._ratings", "ratings_group", "Queue model answers for community rating; rating sheets on paper."),
    "leaderboard": ("jamii.cli._leaderboard", "leaderboard_command", "Automatic, judge and community scores side by side."),
    "export-task": ("jamii.cli._evaluate", "export_task_command", "Export a release as an lm-evaluation-harness or inspect-ai task."),
    "kit": ("jamii.cli._kit", "kit_group", "Field kits: collect with no internet, bring the work back."),
    "results": ("jamii.cli._results", "results_group", "Export evaluation results in the Hugging Face Hub's formats."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _summary = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="jamii")
def cli() -> None:
    """jamii: community-owned benchmark datasets for low-resource languages.

    Commands act as the local operator, with full organiser rights: whoever can run them can
    read the database itself. The audit trail records their changes as the operator's; give
    --as PSEUDONYM where offered to act as a named organiser instead (the store checks the role).
    """


def main() -> None:
    cli()
