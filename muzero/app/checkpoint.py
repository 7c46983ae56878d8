"""Checkpoints: state dicts and the config as plain data, written atomically.

A checkpoint is one ``torch.save`` file holding only tensors, numbers, strings, lists and
dicts, so it loads with ``torch.load(weights_only=True)``: no pickled objects, no code run on
load. It is written to a temporary file in the same directory and synced; the checkpoint it
replaces is kept as ``checkpoint.prev.pt`` (a hard link, so ``checkpoint.pt`` never disappears),
and the new file is renamed into place. A run killed at any moment therefore leaves a valid
``checkpoint.pt``; one found corrupt on disk is passed over for the previous one, with a note; a
write that fails (a full disk) leaves both untouched and raises ``CheckpointWriteError``.

``MUZERO_TEST_PAUSE_BEFORE_RENAME=N`` (a test hook) makes the N-th checkpoint written by a process
stop just before its rename, after creating ``<checkpoint>.paused``, so a test can kill it there.
"""

from __future__ import annotations

import os
import pickle
import shutil
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muzero.errors import CheckpointError, CheckpointWriteError

FORMAT = "muzero-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
PREVIOUS_NAME = "checkpoint.prev.pt"  # the checkpoint before the latest one
PAUSE_HOOK = "MUZERO_TEST_PAUSE_BEFORE_RENAME"
_writes = 0  # checkpoints this process has written (for the test hook)


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


def atomic_write(
    path: Path, write: Any, keep_previous: Path | None = None, before_rename: Callable[[Path], None] | None = None
) -> None:
    """Call ``write(file)`` on a temporary sibling of ``path``, sync it, and rename it into place.

    With ``keep_previous``, the file being replaced first becomes that path too (a hard link where the
    filesystem has them, else a copy), so both the old and the new version exist at every moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        if keep_previous is not None and path.exists():
            _keep_copy(path, keep_previous)
        if before_rename is not None:
            before_rename(path)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)


def _keep_copy(path: Path, keep: Path) -> None:
    """Make ``keep`` a second name for ``path`` (atomically replacing what ``keep`` was)."""
    staging = keep.with_name(f".{keep.name}.tmp-{os.getpid()}")
    staging.unlink(missing_ok=True)
    try:
        try:
            os.link(path, staging)
        except OSError:  # no hard links here: copy
            shutil.copyfile(path, staging)
        os.replace(staging, keep)
    finally:
        staging.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _pause_for_tests(path: Path) -> None:
    global _writes
    _writes += 1
    if os.environ.get(PAUSE_HOOK) == str(_writes):
        path.with_name(path.name + ".paused").touch()
        while True:  # until the test kills this process
            time.sleep(1.0)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically; a ``checkpoint.pt`` keeps its predecessor as ``checkpoint.prev.pt``.

    Any failure to write (``OSError``: a full disk, a lost mount) raises ``CheckpointWriteError`` and leaves
    the files that were there as they were.
    """
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **to_plain(state)}
    keep = path.with_name(PREVIOUS_NAME) if path.name == CHECKPOINT_NAME else None
    try:
        atomic_write(path, lambda file: torch.save(payload, file), keep_previous=keep, before_rename=_pause_for_tests)
    except OSError as error:
        raise CheckpointWriteError(
            f"could not write the checkpoint {path} ({error.strerror or error}); the previous checkpoint "
            f"is intact: free space or fix the directory, then continue with: muzero train --resume {path.parent}"
        ) from error


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or the checkpoint inside a run directory (its previous one if only that exists)."""
    path = Path(path)
    if path.is_dir():
        for name in (CHECKPOINT_NAME, PREVIOUS_NAME):
            if (path / name).exists():
                return path / name
        raise CheckpointError(f"run directory {path} holds no {CHECKPOINT_NAME} (was the run started?)")
    if not path.exists():
        raise CheckpointError(f"no such run directory or checkpoint: {path}")
    return path


def load_checkpoint(path: str | Path, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Load and sanity-check a checkpoint; corrupt, truncated or foreign files raise ``CheckpointError``.

    A ``checkpoint.pt`` that is unreadable is passed over for the ``checkpoint.prev.pt`` beside it, and ``say``
    (default: a warning) is told so.
    """
    file = resolve_checkpoint(path)
    try:
        return _read_checkpoint(file)
    except CheckpointError as error:
        previous = file.with_name(PREVIOUS_NAME)
        if file.name != CHECKPOINT_NAME or not previous.exists():
            raise
        state = _read_checkpoint(previous)
        step = state.get("counters", {}).get("env_steps")
        note = f"{error}; using the previous checkpoint {previous}" + ("" if step is None else f" (env step {step:,})")
        (say or (lambda text: warnings.warn(text, stacklevel=3)))(note)
        return state


def _read_checkpoint(file: Path) -> dict[str, Any]:
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
