"""Named configurations. Each is a function returning a ``Config``; ``muzero train --preset NAME`` picks one."""

from __future__ import annotations

from collections.abc import Callable

from muzero.config import Config, EnvConfig, RunConfig
from muzero.errors import ConfigError


def cartpole() -> Config:
    """CartPole-v1. The defaults of ``Config`` were tuned on it (see the README for measured results)."""
    return Config()


def generic(env_id: str = "CartPole-v1") -> Config:
    """Any discrete-action, vector-observation environment: the defaults with a larger step budget."""
    return Config(env=EnvConfig(id=env_id), run=RunConfig(max_env_steps=100_000))


PRESETS: dict[str, Callable[[], Config]] = {"cartpole": cartpole}


def get_preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()
