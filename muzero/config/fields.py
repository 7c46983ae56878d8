"""What the schema is written in: ``param`` declares a field, ``Section`` checks it on construction.

A value that breaks its declared type or range fails when the section is built, with the
field's dotted key and range, so that a typo in ``--set`` or a preset never reaches training.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import field
from typing import Any, ClassVar

from muzero.errors import ConfigError


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A config field with a description and an optional range [low, high] (or (low, high])."""
    meta = {"help": help, "low": low, "high": high, "low_open": low_open, "choices": choices}
    if isinstance(default, tuple | list):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


class Section:
    """Shared validation: types and ranges declared by ``param`` are checked on construction.

    A subclass names the key its fields sit under, ``class EnvConfig(Section, key="env")``, so
    that an error says ``env.num_envs`` even when the section is built on its own.
    """

    _key: ClassVar[str]

    def __init_subclass__(cls, key: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._key = cls.__name__ if key is None else key

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # every subclass is a dataclass
            name = f"{self._key}.{f.name}" if self._key else f.name
            _check_value(name, f.metadata, hints[f.name], getattr(self, f.name))


def _check_value(name: str, meta: typing.Mapping[str, Any], hint: Any, value: Any) -> None:
    if value is None:
        if type(None) not in typing.get_args(hint):
            raise ConfigError(f"{name} must not be empty")
        return
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{name} = {v} is not a finite number")
        low, high = meta.get("low"), meta.get("high")
        too_low = low is not None and (v <= low if meta.get("low_open") else v < low)
        too_high = high is not None and v > high
        if too_low or too_high:
            raise ConfigError(f"{name} = {v} is out of range: it must lie in {range_text(meta)}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{name} = {value!r} is not one of {', '.join(choices)}")


def range_text(meta: typing.Mapping[str, Any]) -> str:
    """A field's range as ``[low, high]`` or ``(low, high]``, an open end written -inf or inf."""
    low, high = meta.get("low"), meta.get("high")
    lo = "-inf" if low is None else low
    hi = "inf" if high is None else high
    return f"{'(' if meta.get('low_open') else '['}{lo}, {hi}]"
