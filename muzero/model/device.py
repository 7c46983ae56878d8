"""Choosing the torch device, and the process-wide torch settings a training run applies.

The networks, the learner and the search's network calls run on one device; the tree kernels
and the replay buffer stay on the CPU (the search sees numpy arrays only). CPU is what every
figure in the docs was measured on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from muzero.errors import ConfigError


def resolve_device(name: str | torch.device) -> torch.device:
    """'auto' is CUDA when available, else CPU; 'cuda' without a usable GPU is a clear error."""
    text = str(name)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise ConfigError(f"run.device = {text!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"run.device = {text!r} but CUDA is not available here; use --device cpu (or auto)")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"run.device = {text!r}: only cpu and cuda devices are supported")
    return device


@contextmanager
def torch_settings(threads: int, flush_denormal: bool) -> Iterator[None]:
    """Apply torch's thread count and denormal flushing for the duration of a block, then restore them.

    Both are process-wide, so they are set only where training runs, never when an agent is built
    or loaded. PyTorch offers no getter for denormal flushing: its default (off) is restored.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush_denormal)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.set_flush_denormal(False)
