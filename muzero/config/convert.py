"""A config to and from plain data: dicts (JSON, checkpoints), TOML files and ``--set`` strings.

Everything here works from the dataclasses' declared types, so a new field in the schema needs
no code here. ``Root`` gives the whole configuration these round trips as methods.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
import types
import typing
from collections.abc import Iterator
from typing import Any, Self

from muzero.config.fields import Section
from muzero.errors import ConfigError

KEYS_COMMAND = "muzero train --help"  # the command that lists every key, named by the unknown-key error


class Root(Section):
    """The methods of a whole configuration: a root section whose fields are scalars or sections."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a config from ``to_dict`` output; unknown keys are an error, missing keys take defaults."""
        return _build(cls, data, prefix="")

    def replace(self, overrides: dict[str, Any]) -> Self:
        """A copy with dotted-key overrides applied, e.g. {"search.num_simulations": 50}."""
        data = self.to_dict()
        for key, value in overrides.items():
            section, leaf = resolve_key(type(self), key)
            target = data if section is None else data[section]
            target[leaf] = value
        return type(self).from_dict(data)

    def to_toml(self, header: str = "") -> str:
        """The whole config as TOML that ``muzero train --config`` (and ``Config.from_toml``) reads back unchanged.

        TOML has no null: a key whose value is None (each such key defaults to None) is written as a comment.
        """
        lines = [f"# {line}" if line else "#" for line in header.splitlines()]
        data = self.to_dict()
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        lines += [_toml_line(key, value) for key, value in scalars.items()]
        for section, values in data.items():
            if isinstance(values, dict):
                lines += ["", f"[{section}]"]
                lines += [_toml_line(key, value) for key, value in values.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> Self:
        """A config from TOML text (sections as in ``to_toml``; a ``[preset]`` table is ignored)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"not valid TOML: {error}") from None
        data.pop("preset", None)
        return cls.from_dict(data)

    def with_sets(self, assignments: list[str]) -> Self:
        """Apply ``key=value`` strings from the command line, parsing each value by its field's type."""
        overrides = {}
        for text in assignments:
            if "=" not in text:
                raise ConfigError(f"--set expects key=value, got {text!r}")
            key, raw = text.split("=", 1)
            key = key.strip()
            resolve_key(type(self), key)  # unknown keys fail here, with a suggestion
            hint = leaf_types(type(self))[key]
            overrides[key] = parse_value(key, hint, raw.strip())
        return self.replace(overrides)


def leaf_fields(root: type) -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """(dotted key, field, type hint) for every leaf field of ``root``, in declaration order."""
    top_hints = typing.get_type_hints(root)
    for f in dataclasses.fields(root):
        hint = top_hints[f.name]
        if dataclasses.is_dataclass(hint):
            sub_hints = typing.get_type_hints(hint)
            for sub in dataclasses.fields(hint):
                yield f"{f.name}.{sub.name}", sub, sub_hints[sub.name]
        else:
            yield f.name, f, hint


def leaf_types(root: type) -> dict[str, Any]:
    """Dotted key -> type hint for every leaf field of ``root``."""
    return {key: hint for key, _, hint in leaf_fields(root)}


def resolve_key(root: type, key: str) -> tuple[str | None, str]:
    """(section or None, leaf) of a dotted key; an unknown key fails with the closest known one."""
    known = leaf_types(root)
    if key not in known:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
        if not close:  # try matching the leaf name alone, e.g. "num_simulations"
            leaf_matches = [k for k in known if k.split(".")[-1] == key.split(".")[-1]]
            close = leaf_matches[:1]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown config key {key!r}{hint} ({KEYS_COMMAND} lists them all)")
    if "." in key:
        section, leaf = key.split(".", 1)
        return section, leaf
    return None, key


def parse_value(key: str, hint: Any, raw: str) -> Any:
    """Parse a command-line string into the type a field declares."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null", ""):
            return None
        inner = next(a for a in args if a is not type(None))
        return parse_value(key, inner, raw)
    if origin is tuple:
        item = args[0]
        # "1.0,0.25", "(1.0, 0.25)" and the TOML spelling "[1.0, 0.25]" all mean the same tuple.
        parts = [p for p in raw.strip("()[] ").split(",") if p.strip()]
        return tuple(parse_value(key, item, p.strip()) for p in parts)
    try:
        if hint is bool:
            lowered = raw.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if hint is int:
            number = float(raw.replace("_", ""))
            if not number.is_integer():
                raise ValueError(raw)
            return int(number)
        if hint is float:
            return float(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{key} expects {type_name(hint)}, got {raw!r}") from None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":  # the TOML spelling "x" (or Python's 'x')
        return raw[1:-1]
    return raw


def type_name(hint: Any) -> str:
    """A type hint as a reader writes it: ``int | None``, ``tuple[float, ...]``."""
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix.rstrip('.') or 'config'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            full = f"{prefix}{key}"
            close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.5)
            hint = f"; did you mean {prefix + close[0]!r}?" if close else ""
            raise ConfigError(f"unknown config key {full!r}{hint}")
        hint_type = hints[key]
        if dataclasses.is_dataclass(hint_type):
            kwargs[key] = _build(hint_type, value, prefix=f"{key}.")
        else:
            kwargs[key] = _coerce(f"{prefix}{key}", hint_type, value)
    return cls(**kwargs)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    """Accept plain data (JSON, TOML) for a field: lists become tuples, ints become floats where declared."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        return _coerce(key, inner, value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} expects a list, got {value!r}")
        return tuple(_coerce(key, args[0], v) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    expected = {bool: bool, int: int, float: float, str: str}.get(hint)
    if expected is not None and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
        raise ConfigError(f"{key} expects {type_name(hint)}, got {value!r}")
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf" if value < 0 else "nan")
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} as TOML")


def _toml_line(key: str, value: Any) -> str:
    if value is None:
        return f"# {key} = None (TOML has no null; left out, the key takes its default, None)"
    return f"{key} = {_toml_value(value)}"
