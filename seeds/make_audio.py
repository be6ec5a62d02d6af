"""Regenerate the synthetic speech clips of the seeds (seeds/audio/*.wav) with espeak-ng and sox.

    python seeds/make_audio.py           # write every clip items.yaml names
    python seeds/make_audio.py --check   # exit 1 if a committed clip differs from a fresh one

The clips are committed, so `jamii init` never needs espeak-ng; this script only documents how
they were made and lets anyone remake them. For each speech item in items.yaml with a
`synthetic` entry it runs

    espeak-ng -v VOICE -s SPEED -w tmp.wav TRANSCRIPT
    sox -D -R tmp.wav -r 16000 -c 1 -b 16 OUT.wav   (no dither, repeatable)

and nothing else, so the same espeak-ng and sox versions give byte-identical files: espeak-ng has
no random element, `-D` turns off sox's dither (random noise added when resampling), `-R` makes
any other sox randomness repeatable, and sox writes no date into a WAV header. Needs `apt-get install -y
espeak-ng sox` and PyYAML. The version espeak-ng reports must match the `generator` recorded
in items.yaml, because that string is copied into each item's provenance; the script refuses
to write otherwise (update items.yaml first if you upgrade espeak-ng on purpose).
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"eSpeak NG text-to-speech:\s*([0-9][\w.\-]*)", out)
    if not found:
        raise SystemExit(f"Could not read the espeak-ng version from: {out!r}")
    return f"espeak-ng {found.group(1)}"


def clips() -> list[dict]:
    data = yaml.safe_load((HERE / "items.yaml").read_text(encoding="utf-8"))
    return [item for item in data["items"] if item.get("kind") == "speech" and item.get("synthetic")]


def render(item: dict, out: Path) -> None:
    synth = item["synthetic"]
    text = item["content"]["transcript"]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", synth["voice"], "-s", str(synth["speed"]), "-w", str(raw), text],
                       check=True)
        subprocess.run(["sox", "-D", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed clips, write nothing")
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            print(f"{tool} is not installed: apt-get install -y espeak-ng sox", file=sys.stderr)
            return 2
    version = espeak_version()
    differ = 0
    for item in clips():
        if item["synthetic"]["generator"] != version:
            print(f"{item['id']}: items.yaml says {item['synthetic']['generator']!r} but {version!r} is "
                  "installed; update items.yaml if the change is intended.", file=sys.stderr)
            return 2
        target = HERE / item["audio"]
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / target.name
            render(item, fresh)
            if args.check:
                same = target.exists() and filecmp.cmp(fresh, target, shallow=False)
                print(f"{'same   ' if same else 'DIFFERS'} {target.relative_to(HERE)}")
                differ += not same
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fresh, target)
                print(f"wrote {target.relative_to(HERE)} ({target.stat().st_size:,} bytes)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
