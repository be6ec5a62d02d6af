"""Where jamii keeps its data, and which database it talks to.

Everything is read from the environment (or passed explicitly) so that the CLI, the Streamlit
apps and the tests agree on one store without a configuration file to get out of step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "JAMII_DATA"
DB_ENV = "JAMII_DB"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    """Folder holding the SQLite store, the audio files and release builds."""
    db_url: str
    """SQLAlchemy URL of the store: a SQLite file by default, PostgreSQL for many users."""

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"


def default_data_dir() -> Path:
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "jamii"


def load_settings(db_url: str | None = None, data_dir: str | Path | None = None) -> Settings:
    """Resolve the store: explicit arguments first, then JAMII_DB / JAMII_DATA, then defaults."""
    folder = Path(data_dir).expanduser() if data_dir else default_data_dir()
    url = db_url or os.environ.get(DB_ENV) or f"sqlite:///{folder / 'jamii.sqlite3'}"
    return Settings(data_dir=folder, db_url=url)
