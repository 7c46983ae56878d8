"""muzero: a correct, fast, well-tested MuZero in PyTorch.

from muzero import MuZero, presets
agent = MuZero(presets.cartpole()).learn()
"""

from __future__ import annotations

from typing import Any

from muzero._version import __version__

__all__ = [
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "Config",
    "EvalCallback",
    "MuZero",
    "StopTrainingOnRewardThreshold",
    "__version__",
    "presets",
]
_CALLBACKS = {"BaseCallback", "CallbackList", "CheckpointCallback", "EvalCallback", "StopTrainingOnRewardThreshold"}


def __getattr__(name: str) -> Any:
    # Imported on first use, so ``import muzero.model.support`` stays light.
    if name == "MuZero":
        from muzero.app.agent import MuZero

        return MuZero
    if name in _CALLBACKS:
        from muzero.app import callbacks

        return getattr(callbacks, name)
    if name == "Config":
        from muzero.config import Config

        return Config
    if name == "presets":
        import importlib

        return importlib.import_module("muzero.presets")
    raise AttributeError(f"module 'muzero' has no attribute {name!r}")
