"""One frozen, nested configuration per run.

Every field carries a one-line description (shown by ``muzero train --help-config``)
and, where it has one, its valid range; a config is validated when it is built, so a
bad value fails at once with the field's name and range instead of deep in training.
Presets are plain functions returning a ``Config`` (see ``muzero.presets``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from typing import Any

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


class _Section:
    """Shared validation: types and ranges declared by ``param`` are checked on construction."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_value(type(self).__name__, f, hints[f.name], value)


def _check_value(section: str, f: dataclasses.Field, hint: Any, value: Any) -> None:
    prefix = _SECTION_NAMES.get(section, section)
    name = f"{prefix}.{f.name}" if prefix else f.name
    meta = f.metadata
    if value is None:
        if not _allows_none(hint):
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
            lo = "-inf" if low is None else low
            hi = "inf" if high is None else high
            bracket = "(" if meta.get("low_open") else "["
            raise ConfigError(f"{name} = {v} is out of range: it must lie in {bracket}{lo}, {hi}]")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{name} = {value!r} is not one of {', '.join(choices)}")


def _allows_none(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


VECTORIZATION = ("sync", "async")


@dataclass(frozen=True)
class EnvConfig(_Section):
    id: str = param("CartPole-v1", "Gymnasium environment id (discrete actions; any observation space but images).")
    kwargs: tuple[str, ...] = param(
        (), "Keyword arguments for gymnasium.make, as key=value (command line: --env-kwargs k=v k=v)."
    )
    vectorization: str = param(
        "sync",
        "How the training environments run: Gymnasium's 'sync' or 'async' vector env.",
        choices=("sync", "async"),
    )
    num_envs: int = param(16, "Environments acting in parallel during training; one batched search serves all.", low=1)
    max_episode_steps: int | None = param(
        None,
        "Override the environment's episode step limit (truncation); one registered without a limit gets 1,000.",
        low=1,
    )
    reward_scale: float = param(
        1.0, "Rewards are multiplied by this before learning (returns are reported unscaled).", low=0.0, low_open=True
    )


@dataclass(frozen=True)
class NetworkConfig(_Section):
    latent_size: int = param(32, "Size of the hidden state s produced by representation and dynamics.", low=1)
    hidden_size: int = param(128, "Width of the hidden layers of every network.", low=1)
    num_layers: int = param(1, "Hidden layers in each of representation, dynamics and prediction.", low=0)
    value_support_size: int | None = param(
        None,
        "Value head is categorical over integers -S..S (after the h transform); None = chosen from the "
        "environment's reward scale and episode limit (10 on CartPole).",
        low=1,
    )
    reward_support_size: int | None = param(
        None,
        "Reward head is categorical over integers -S..S (after the h transform); None = chosen from the "
        "environment's reward scale (5 on CartPole).",
        low=1,
    )
    layer_norm: bool = param(True, "Layer normalisation after each hidden layer (steadier training).")
    projection_size: int = param(64, "Width of the projection heads of the consistency loss.", low=1)


@dataclass(frozen=True)
class SearchConfig(_Section):
    algorithm: str = param(
        "muzero",
        "Search: 'muzero' (pUCT, Dirichlet root noise, visit-count policy targets, as in the paper) or 'gumbel' "
        "(Gumbel MuZero: Gumbel-top-k root actions, Sequential Halving, improved-policy targets).",
        choices=("muzero", "gumbel"),
    )
    num_simulations: int = param(25, "MCTS simulations per move (one batched network call each).", low=1)
    pb_c_init: float = param(1.25, "pUCT constant c1.", low=0.0)
    pb_c_base: float = param(19652.0, "pUCT constant c2.", low=0.0, low_open=True)
    dirichlet_alpha: float = param(
        0.25, "Dirichlet concentration of the root exploration noise.", low=0.0, low_open=True
    )
    exploration_fraction: float = param(
        0.25, "Weight of the Dirichlet noise mixed into the root prior.", low=0.0, high=1.0
    )
    q_normalization: str = param(
        "tree",
        "Range Q is min-max normalised over: 'tree' (every Q seen in the search, as in the paper) or 'node' "
        "(the node's value and its children's Q, as in mctx).",
        choices=("tree", "node"),
    )
    q_range_floor: float = param(
        0.01, "Smallest (max - min) used to normalise Q to [0, 1]; damps noise.", low=0.0, low_open=True
    )
    gumbel_max_considered: int = param(
        16, "Gumbel: root actions sampled (Gumbel-top-k) for Sequential Halving, m (mctx's default 16).", low=1
    )
    gumbel_scale: float = param(
        1.0, "Gumbel: scale of the root's Gumbel noise while acting (evaluation uses none).", low=0.0
    )
    gumbel_c_visit: float = param(50.0, "Gumbel: c_visit of sigma(q) = (c_visit + max N) * c_scale * q.", low=0.0)
    gumbel_c_scale: float = param(0.1, "Gumbel: c_scale of sigma(q) (mctx's default 0.1).", low=0.0, low_open=True)


@dataclass(frozen=True)
class ReplayConfig(_Section):
    capacity: int = param(5_000, "Transitions kept in replay (memory is bounded by this).", low=1)
    priority_alpha: float = param(0.0, "Prioritised replay exponent alpha (0 = uniform sampling).", low=0.0, high=2.0)
    priority_beta: float = param(1.0, "Importance-weight exponent beta (0 = no correction).", low=0.0, high=1.0)
    priority_epsilon: float = param(
        1e-3, "Added to |v - z| so no stored position has priority 0.", low=0.0, low_open=True
    )
    end_reservoir: int = param(
        0,
        "Rows kept apart for the last steps of episodes that truly ended (a fall, a crash, a goal), so that a "
        "good agent's long episodes cannot push every ending out of replay (0 = off; memory grows by this).",
        low=0,
    )
    end_tail_steps: int = param(
        20, "Steps before a true episode end copied into the end reservoir (with the final row).", low=1
    )
    end_reservoir_share: float = param(
        0.0,
        "Fraction of every batch drawn from the end reservoir, whatever its size (0 = its rows are sampled "
        "with all the others, so its share grows with end_reservoir).",
        low=0.0,
        high=0.9,
    )


@dataclass(frozen=True)
class LearnerConfig(_Section):
    batch_size: int = param(128, "Positions per training step.", low=1)
    unroll_steps: int = param(5, "K: dynamics steps unrolled per position during training.", low=0)
    td_steps: int = param(10, "n: steps of observed rewards before bootstrapping the value target.", low=1)
    learning_rate: float = param(3e-3, "Adam learning rate after warm-up.", low=0.0, low_open=True)
    lr_warmup_steps: int = param(100, "Training steps of linear learning-rate warm-up.", low=0)
    lr_decay_rate: float = param(
        1.0,
        "Learning rate is multiplied by this every lr_decay_steps (1 = constant).",
        low=0.0,
        low_open=True,
        high=1.0,
    )
    lr_decay_steps: int = param(10_000, "Training steps per lr_decay_rate factor.", low=1)
    weight_decay: float = param(1e-4, "L2 weight decay.", low=0.0)
    max_grad_norm: float = param(5.0, "Gradients are clipped to this global norm.", low=0.0, low_open=True)
    value_loss_weight: float = param(
        0.25, "Weight of the value loss (policy and reward losses have weight 1).", low=0.0
    )
    reanalyse_values: bool = param(
        True,
        "Bootstrap value targets from a fresh target-network value of the stored "
        "observation instead of the stored search value.",
    )
    reanalyse_fraction: float = param(
        0.0,
        "Reanalyse: fraction of each training batch whose policy and value targets come from a fresh search "
        "of the stored observations (0 = off).",
        low=0.0,
        high=1.0,
    )
    reanalyse_network: str = param(
        "target",
        "Reanalyse searches with the 'target' network (as EfficientZero) or the 'current' one.",
        choices=("target", "current"),
    )
    target_update_interval: int = param(
        100, "Training steps between copies of the network into the target network.", low=1
    )
    consistency_loss_weight: float = param(
        2.0,
        "Weight of EfficientZero's temporal-consistency loss between unrolled states and the representation "
        "of the observations actually reached (0 = off).",
        low=0.0,
    )
    compile: str = param(
        "auto",
        "Compile the loss with torch.compile: 'on', 'off', or 'auto' (on when a run plans at least 20,000 "
        "gradient steps). Gradient steps 1.3-2x faster on a 2-core CPU; the first compilation on a machine takes "
        "30-50 s, later runs load it from the on-disk cache in about 3 s. Falls back to eager with a warning "
        "when compilation fails.",
        choices=("auto", "on", "off"),
    )


@dataclass(frozen=True)
class ActingConfig(_Section):
    train_ratio: float = param(2.0, "Training steps per environment step (the replay ratio).", low=0.0, low_open=True)
    min_replay_size: int = param(500, "Transitions collected before training starts.", low=1)
    temperatures: tuple[float, ...] = param((1.0, 0.25), "Visit-count temperatures for acting, in order.", low=0.0)
    temperature_env_steps: tuple[int, ...] = param(
        (0, 1_000), "Environment step at which each temperature starts.", low=0
    )
    temperature_moves: int = param(
        0,
        "Moves of each episode played at the scheduled temperature; later moves take the search's choice "
        "(most visited), as AlphaZero's self-play does after 30 moves of Go. 0 = every move at the temperature.",
        low=0,
    )
    explore_probability: float = param(
        0.0,
        "Temporally extended exploration (Dabney et al. 2021): at each step, an environment not already "
        "exploring starts, with this probability, repeating one random legal action (0 = off).",
        low=0.0,
        high=1.0,
    )
    explore_spread: float = param(
        0.0,
        "Spread the exploration probability over the acting environments as Ape-X does: environment i of B "
        "explores with p ** (1 + spread * i / (B - 1)), from p down to p ** (1 + spread) (0 = all use p).",
        low=0.0,
    )
    explore_max_repeat: int = param(
        8, "An exploratory action is repeated for a number of steps drawn uniformly from 1..this.", low=1
    )


@dataclass(frozen=True)
class EvalConfig(_Section):
    interval: int = param(500, "Environment steps between periodic evaluations.", low=1)
    episodes: int = param(10, "Episodes in a periodic evaluation (no root noise, most-visited action).", low=1)
    confirm_episodes: int = param(
        100, "Episodes that must average solve_threshold before a run counts as solved.", low=1
    )
    final_episodes: int = param(100, "Episodes in the final evaluation reported at the end of training.", low=0)
    max_episode_return: float | None = param(
        None,
        "The largest return one episode can have (CartPole-v1: 500). When set, a confirmation stops as soon as "
        "its mean can no longer reach the solve threshold (what counts as solved is unchanged); games use 1, "
        "a win. None: confirmations play every episode.",
    )
    solve_threshold: float | None = param(
        None,
        "Mean return that counts as solved (default: the environment's reward threshold); for a two-player game the "
        "mean score against eval.opponent (win 1, draw 0.5, loss 0).",
    )
    opponent: str | None = param(
        None,
        "Two-player games: the opponent of periodic evaluations: random, perfect (tic-tac-toe) or alphabetaN "
        "(Connect Four, N plies); default the game's first (perfect, alphabeta2). The final evaluation plays all.",
    )


@dataclass(frozen=True)
class RunConfig(_Section):
    seed: int = param(0, "Seed for every random generator of the run.", low=0)
    max_env_steps: int = param(30_000, "Training stops at this many environment steps.", low=1)
    stop_when_solved: bool = param(
        True,
        "The command line stops as soon as an evaluation confirms the solve threshold (it adds the callback "
        "StopTrainingOnRewardThreshold; MuZero.learn stops early only with that callback).",
    )
    threads: int = param(
        2,
        "torch.set_num_threads while training runs, restored afterwards (2 measured fastest on a 2-core CPU).",
        low=1,
    )
    flush_denormal: bool = param(
        True,
        "torch.set_flush_denormal while training runs, restored afterwards (tiny weights decaying into "
        "denormals slow CPU training about 15x).",
    )
    device: str = param(
        "auto",
        "Where the networks, the learner and the search's network calls run: 'auto' (CUDA when available, "
        "else CPU), 'cpu', 'cuda' or 'cuda:N'. The tree kernels always run on the CPU.",
    )
    track: bool = param(False, "Also log every metric to Weights & Biases (pip install 'muzero[wandb]').")
    wandb_project: str = param("muzero", "Weights & Biases project of a tracked run.")
    wandb_entity: str | None = param(None, "Weights & Biases entity (team or user) of a tracked run.")
    checkpoint_interval: int = param(2_000, "Environment steps between checkpoints (0 = only at the end).", low=0)
    log_interval_seconds: float = param(
        5.0, "Seconds between progress lines when output is not a terminal.", low=0.0, low_open=True
    )


@dataclass(frozen=True)
class Config(_Section):
    discount: float = param(0.99, "Discount factor gamma of the returns the agent maximises.", low=0.0, high=1.0)
    env: EnvConfig = field(default_factory=EnvConfig, metadata={"help": "Environment."})
    network: NetworkConfig = field(default_factory=NetworkConfig, metadata={"help": "Networks."})
    search: SearchConfig = field(default_factory=SearchConfig, metadata={"help": "Monte Carlo tree search."})
    replay: ReplayConfig = field(default_factory=ReplayConfig, metadata={"help": "Replay buffer."})
    learner: LearnerConfig = field(default_factory=LearnerConfig, metadata={"help": "Training."})
    acting: ActingConfig = field(default_factory=ActingConfig, metadata={"help": "Self-play."})
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "Evaluation."})
    run: RunConfig = field(default_factory=RunConfig, metadata={"help": "Run control."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.acting.temperatures) != len(self.acting.temperature_env_steps):
            raise ConfigError("acting.temperatures and acting.temperature_env_steps must have the same length")
        if not self.acting.temperatures:
            raise ConfigError("acting.temperatures must name at least one temperature")
        if list(self.acting.temperature_env_steps) != sorted(self.acting.temperature_env_steps):
            raise ConfigError("acting.temperature_env_steps must be in increasing order")
        if self.replay.end_reservoir_share > 0 and not self.replay.end_reservoir:
            raise ConfigError("replay.end_reservoir_share needs an end reservoir: set replay.end_reservoir > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Rebuild a config from ``to_dict`` output; unknown keys are an error, missing keys take defaults."""
        return _build(cls, data, prefix="")

    def replace(self, overrides: dict[str, Any]) -> Config:
        """A copy with dotted-key overrides applied, e.g. {"search.num_simulations": 50}."""
        data = self.to_dict()
        for key, value in overrides.items():
            section, leaf = _resolve_key(key)
            target = data if section is None else data[section]
            target[leaf] = value
        return Config.from_dict(data)

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
    def from_toml(cls, text: str) -> Config:
        """A config from TOML text (sections as in ``to_toml``; a ``[preset]`` table is ignored)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"not valid TOML: {error}") from None
        data.pop("preset", None)
        return cls.from_dict(data)

    def with_sets(self, assignments: list[str]) -> Config:
        """Apply ``key=value`` strings from the command line, parsing each value by its field's type."""
        overrides = {}
        for text in assignments:
            if "=" not in text:
                raise ConfigError(f"--set expects key=value, got {text!r}")
            key, raw = text.split("=", 1)
            key = key.strip()
            _resolve_key(key)  # unknown keys fail here, with a suggestion
            hint = field_types()[key]
            overrides[key] = parse_value(key, hint, raw.strip())
        return self.replace(overrides)


_SECTION_NAMES = {
    "EnvConfig": "env",
    "NetworkConfig": "network",
    "SearchConfig": "search",
    "ReplayConfig": "replay",
    "LearnerConfig": "learner",
    "ActingConfig": "acting",
    "EvalConfig": "eval",
    "RunConfig": "run",
    "Config": "",
}


def field_types() -> dict[str, Any]:
    """Dotted key -> type hint for every leaf field of ``Config``."""
    result = {}
    top_hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        hint = top_hints[f.name]
        if dataclasses.is_dataclass(hint):
            sub_hints = typing.get_type_hints(hint)
            for sub in dataclasses.fields(hint):
                result[f"{f.name}.{sub.name}"] = sub_hints[sub.name]
        else:
            result[f.name] = hint
    return result


def field_docs() -> list[tuple[str, str, Any, str]]:
    """(dotted key, type name, default, description) for every leaf field, in declaration order."""
    rows = []
    defaults = Config().to_dict()
    hints = field_types()
    for f in dataclasses.fields(Config):
        if isinstance(defaults[f.name], dict):
            sub_cls = typing.get_type_hints(Config)[f.name]
            for sub in dataclasses.fields(sub_cls):
                key = f"{f.name}.{sub.name}"
                rows.append((key, _type_name(hints[key]), defaults[f.name][sub.name], _describe(sub)))
        else:
            rows.append((f.name, _type_name(hints[f.name]), defaults[f.name], _describe(f)))
    return rows


def _describe(f: dataclasses.Field) -> str:
    meta = f.metadata
    text = meta["help"]
    low, high = meta.get("low"), meta.get("high")
    if low is not None or high is not None:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        text += f" Range {'(' if meta.get('low_open') else '['}{lo}, {hi}]."
    return text


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _resolve_key(key: str) -> tuple[str | None, str]:
    known = field_types()
    if key not in known:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
        if not close:  # try matching the leaf name alone, e.g. "num_simulations"
            leaf_matches = [k for k in known if k.split(".")[-1] == key.split(".")[-1]]
            close = leaf_matches[:1]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown config key {key!r}{hint} (muzero train --help-config lists them all)")
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
        raise ConfigError(f"{key} expects {_type_name(hint)}, got {raw!r}") from None
    return raw


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix or 'config'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            full = f"{prefix}{key}"
            close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.5)
            hint = f"; did you mean {prefix}{close[0]!r}?" if close else ""
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
        raise ConfigError(f"{key} expects {_type_name(hint)}, got {value!r}")
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


def markdown_reference() -> str:
    """The configuration reference as a Markdown table (the README's copy is checked against it by a test)."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, type_name, default, text in field_docs():
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        shown = "(empty)" if shown == "" else f"`{shown}`"
        cell = type_name.replace("|", "\\|")  # a pipe inside a cell would end it
        rows.append(f"| `{key}` | {cell} | {shown} | {text} |")
    return "\n".join(rows)
