"""Where a benchmark's figures came from, printed inside its JSON so that a results page can quote them.

``docs/results/data/`` keeps one JSON file per measurement with this block inside (its README says how a
benchmark's output becomes a data file): the command as it was run, the commit (``-dirty`` when the
working tree differed from it), the date, the machine and the torch thread count.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def provenance(threads: int | None) -> dict[str, Any]:
    """The ``provenance`` block of a data file, for the benchmark now running with ``threads`` torch threads."""
    import torch

    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    commit = _git("rev-parse", "HEAD")
    if commit is not None and _git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    return {
        "command": " ".join(["python", str(shown), *sys.argv[1:]]),
        "commit": commit,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {'CUDA' if torch.cuda.is_available() else 'no GPU'}",
        "threads": threads,
    }
