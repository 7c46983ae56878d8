"""Named configurations. Each is a function returning a ``Config``; ``muzero train --preset NAME`` picks one."""

from __future__ import annotations

from collections.abc import Callable

from muzero.config import Config, EnvConfig
from muzero.errors import ConfigError


def cartpole() -> Config:
    """CartPole-v1: the defaults are tuned for it (see README for measured results)."""
    return Config()


def generic(env_id: str = "CartPole-v1") -> Config:
    """Defaults for any discrete-action, vector-observation environment."""
    return Config(env=EnvConfig(id=env_id))


PRESETS: dict[str, Callable[[], Config]] = {"cartpole": cartpole}


def get_preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()
