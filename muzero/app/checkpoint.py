"""Checkpoints: state dicts and the config as plain data, written atomically.

A checkpoint is one ``torch.save`` file holding only tensors, numbers, strings, lists and
dicts, so it loads with ``torch.load(weights_only=True)``: no pickled objects, no code run on
load. It is written to a temporary file in the same directory, synced, then renamed over the
old one, so a run killed at any moment leaves either the previous checkpoint or the new one.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muzero.errors import CheckpointError

FORMAT = "muzero-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


def to_plain(value: Any) -> Any:
    """numpy arrays become tensors (numpy objects would need pickling); containers are walked."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary sibling of ``path``, sync it, and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    payload = {"format": FORMAT, "version": VERSION, **to_plain(state)}
    atomic_write(Path(path), lambda file: torch.save(payload, file))


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or the checkpoint inside a run directory."""
    path = Path(path)
    if path.is_dir():
        candidate = path / CHECKPOINT_NAME
        if not candidate.exists():
            raise CheckpointError(f"run directory {path} holds no {CHECKPOINT_NAME} (was the run started?)")
        return candidate
    if not path.exists():
        raise CheckpointError(f"no such run directory or checkpoint: {path}")
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and sanity-check a checkpoint; corrupt, truncated or foreign files raise ``CheckpointError``."""
    file = resolve_checkpoint(path)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {file} is corrupt or truncated ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{file} is not a muzero checkpoint")
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {file} has format version {state.get('version')}; this muzero reads version {VERSION}"
        )
    for key in ("config", "network", "env"):
        if key not in state:
            raise CheckpointError(f"checkpoint {file} is incomplete: it has no {key!r}")
    return state
