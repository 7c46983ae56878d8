"""Named configurations, kept as data: one TOML file per preset in this folder.

A preset file holds a ``[preset]`` table (``description``, and ``env_id`` when it is tuned for
one environment, or a list of ids and shell-style patterns for a family of them, the first a
plain id: ``["MinAtar/Breakout-v1", "MinAtar/*-v1"]``) and any configuration sections to override
(``[search]``, ``[learner]``, ...) with the keys that ``muzero train --help`` lists. Like rl-zoo's
hyperparameter files, presets are keyed by environment id: ``muzero train --env ID`` picks the
preset tuned for ID when there is one (an exact id before a pattern) and the ``generic`` preset
otherwise; ``--preset NAME`` picks one by name.
"""

from __future__ import annotations

import fnmatch
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from muzero.config import Config, EnvConfig
from muzero.errors import ConfigError

GENERIC = "generic"


@cache
def _load_all() -> dict[str, dict[str, Any]]:
    presets = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            with entry.open("rb") as file:
                presets[entry.name.removesuffix(".toml")] = tomllib.load(file)
    return presets


def preset_names() -> list[str]:
    return sorted(_load_all())


PRESET_KEYS = {"description", "env_id"}


def preset_info(name: str) -> dict[str, Any]:
    """The ``[preset]`` table of a preset: description, env_id (if tuned for one environment)."""
    info = dict(_preset_data(name).get("preset", {}))
    unknown = set(info) - PRESET_KEYS
    if unknown:  # e.g. a configuration key written below [preset] instead of above it
        raise ConfigError(
            f"preset {name!r}: unknown key(s) {', '.join(sorted(unknown))} in its [preset] table "
            f"(allowed: {', '.join(sorted(PRESET_KEYS))}); configuration keys go above [preset] or in their section"
        )
    return info


def preset_env_ids(name: str) -> list[str]:
    """The ids and patterns a preset is tuned for ([] for one tuned for none); the first is a plain id."""
    ids = preset_info(name).get("env_id", [])
    return [ids] if isinstance(ids, str) else list(ids)


def preset_for_env(env_id: str) -> str | None:
    """The name of the preset tuned for ``env_id``, if there is one: one naming it, else one whose pattern fits."""
    names = preset_names()
    exact = next((name for name in names if env_id in preset_env_ids(name)), None)
    if exact is not None:
        return exact
    return next((n for n in names if any(fnmatch.fnmatchcase(env_id, p) for p in preset_env_ids(n)[1:])), None)


def get_preset(name: str, env_id: str | None = None) -> Config:
    """The preset's configuration; ``env_id`` (if given) replaces the environment it names."""
    data = {key: value for key, value in _preset_data(name).items() if key != "preset"}
    env_id = env_id or next(iter(preset_env_ids(name)), None)
    if env_id is not None:
        data.setdefault("env", {})["id"] = env_id
    try:
        return Config.from_dict(data)
    except ConfigError as error:
        raise ConfigError(f"preset {name!r}: {error}") from None


def resolve(env_id: str | None, preset: str | None) -> tuple[Config, str]:
    """What ``muzero train`` runs: (config, preset name) from an optional env id and preset name.

    Neither given: CartPole-v1 with its preset. An env id alone: the preset tuned for it, else
    ``generic``. A preset alone: that preset as it stands. Both: the preset on that environment.
    """
    if preset is None:
        preset = preset_for_env(env_id or EnvConfig().id) or GENERIC
    return get_preset(preset, env_id), preset


def _preset_data(name: str) -> dict[str, Any]:
    presets = _load_all()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(presets))}")
    return presets[name]


def cartpole() -> Config:
    """CartPole-v1: the defaults of ``Config`` (tuned on it, see the README) and its largest episode return."""
    return get_preset("cartpole")


def generic(env_id: str = "CartPole-v1") -> Config:
    """Defaults meant to learn an environment no preset was tuned for."""
    return get_preset(GENERIC, env_id)
