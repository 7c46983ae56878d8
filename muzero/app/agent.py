"""The Python API, with Stable-Baselines3's names and meanings.

from muzero import MuZero, StopTrainingOnRewardThreshold

agent = MuZero("CartPole-v1", seed=0)                      # an id, a factory, or a Config
agent.learn(30_000, callback=StopTrainingOnRewardThreshold())  # 30,000 more environment steps
action, _ = agent.predict(observation, deterministic=True)
agent.save("cartpole")                                     # one file: cartpole.pt
agent = MuZero.load("cartpole.pt")                         # predicts; builds no training environment
agent = MuZero.load("cartpole.pt", env="CartPole-v1")      # ... and can continue learning

Where SB3 and this agent differ: ``learn`` counts environment steps in whole batches of
``env.num_envs`` (so it may run up to ``num_envs - 1`` steps more, as SB3 does with vector envs);
``reset_num_timesteps`` resets only ``num_timesteps`` (schedules, metrics and checkpoints keep
counting every step the agent ever took); ``log_interval`` is seconds between progress lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from muzero import presets
from muzero.app.callbacks import BaseCallback, as_callback
from muzero.app.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from muzero.app.runner import RunOutcome, make_trainer, start_run, train, write_config
from muzero.config import Config
from muzero.envs.games.aec import from_pettingzoo
from muzero.envs.make import EnvSource
from muzero.envs.spaces import ObservationEncoder, space_from_plain, space_to_plain
from muzero.errors import CheckpointError, EnvironmentNotSupported, UserError
from muzero.model.bridge import NetworkModel
from muzero.model.device import resolve_device
from muzero.search.mcts import greedy_actions, run_mcts
from muzero.training.evaluation import EvalResult, evaluate
from muzero.training.planning import build_model
from muzero.training.trainer import Trainer

EnvLike = str | Callable[..., gym.Env]


class MuZero:
    """A MuZero agent: train it with ``learn``, act with ``predict``, keep it with ``save`` / ``load``."""

    def __init__(
        self,
        env_or_config: Config | EnvLike | None = None,
        *,
        device: str = "auto",
        seed: int | None = None,
        run_dir: str | Path | None = None,
        verbose: int = 1,
        overrides: dict[str, Any] | Sequence[str] | None = None,
        preset: str | None = None,
        backend: str | None = None,
        actors: int | None = None,
        _checkpoint: dict[str, Any] | None = None,
    ) -> None:
        """``env_or_config``: a Gymnasium id (its tuned preset, else the generic one), a factory returning a
        ``gymnasium.Env`` (the generic preset), or a ``Config``; None means CartPole-v1.

        ``overrides`` takes what ``--set`` takes: ``{"search.num_simulations": 50}`` or
        ``["search.num_simulations=50"]``. ``device``: auto (CUDA when available), cpu, cuda or cuda:N.
        ``run_dir`` (optional) receives metrics, TensorBoard events, checkpoints and plots, as the
        command line writes them. ``verbose``: 0 silent, 1 progress output while learning. ``backend="ray"``
        plays self-play in ``actors`` Ray actors (``distributed.backend``, ``distributed.actors``).
        ``_checkpoint`` (``load``'s): a checkpoint's state; only its networks are built, no environment.
        """
        config, self.preset, self.env_factory = _resolve(env_or_config, preset)
        config = _apply_overrides(config, overrides)
        if seed is not None:
            config = config.replace({"run.seed": seed})
        if backend is not None:
            config = config.replace({"distributed.backend": backend})
        if actors is not None:
            config = config.replace({"distributed.actors": actors})
        if device != "auto" or config.run.device == "auto":
            config = config.replace({"run.device": str(device)})
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.verbose = int(verbose)
        self._loaded_state: dict[str, Any] | None = _checkpoint
        self._timesteps_base = 0
        self.last_outcome: RunOutcome | None = None
        self.trainer: Trainer | None = None
        if _checkpoint is not None:
            self._attach_checkpoint(config, _checkpoint)
        elif self.run_dir is None:
            self._attach(make_trainer(config, self.env_factory))
        else:
            self._attach(start_run(config, self.run_dir, self.preset, env_factory=self.env_factory))

    def _attach(self, trainer: Trainer) -> None:
        """Act and learn through ``trainer``: its config (support sizes chosen from the environment), model and
        encoder."""
        self.trainer = trainer
        self._set_model(trainer.config, trainer.model, trainer.encoder, trainer.spec.two_player, trainer.device)
        self._rng = trainer.generators.acting

    def _attach_checkpoint(self, config: Config, state: dict[str, Any]) -> None:
        """Only the networks of a checkpoint, built as a trainer builds them; no environment is made."""
        device = resolve_device(config.run.device)
        recorded = state["env"]
        two_player = bool(recorded.get("two_player", False))
        space = space_from_plain(recorded["observation_space"])
        model = build_model(config, space, recorded["num_actions"], two_player, device)
        try:
            model.network.load_state_dict(state["network"])
        except RuntimeError as error:
            raise CheckpointError(f"checkpoint does not fit its own config's network: {error}") from None
        encoder = ObservationEncoder(space)
        self._set_model(config, model, encoder, two_player, device)
        self._rng = np.random.default_rng(config.run.seed)

    def _set_model(
        self, config: Config, model: NetworkModel, encoder: ObservationEncoder, two_player: bool, device: Any
    ) -> None:
        self.config = config
        self.model = model  # the search-facing model (initial_inference / recurrent_inference)
        self.network = model.network
        self.encoder = encoder
        self.two_player = two_player
        self.device = device

    # -- SB3's surface ----------------------------------------------------------------------------------------

    @property
    def num_timesteps(self) -> int:
        """Environment steps taken since the last ``learn(reset_num_timesteps=True)`` (SB3's counter)."""
        return self.total_env_steps - self._timesteps_base

    @property
    def total_env_steps(self) -> int:
        """Every environment step this agent was ever trained on (what schedules and metrics count)."""
        if self.trainer is not None:
            return self.trainer.counters.env_steps
        return int(self._loaded_state["counters"]["env_steps"]) if self._loaded_state else 0

    def learn(
        self,
        total_timesteps: int | None = None,
        callback: BaseCallback | Sequence[BaseCallback] | None = None,
        progress_bar: bool = False,
        reset_num_timesteps: bool = True,
        log_interval: float | None = None,
    ) -> MuZero:
        """Train for ``total_timesteps`` more environment steps (default ``run.max_env_steps``); returns self.

        Training stops early only when a callback says so: ``StopTrainingOnRewardThreshold()`` stops at a
        confirmed solve (the command line adds it unless ``run.stop_when_solved`` is off). ``progress_bar``
        shows a self-updating status line even when ``verbose`` is 0. With a ``run_dir`` the run's artefacts
        (final evaluation, summary, curve, GIF) are written at the end, as the command line writes them.
        """
        trainer = self._trainer_for_learning()
        steps = self.config.run.max_env_steps if total_timesteps is None else int(total_timesteps)
        if steps < 1:
            raise UserError(f"total_timesteps must be at least 1, got {total_timesteps}")
        if reset_num_timesteps:
            self._timesteps_base = trainer.counters.env_steps
        budget = trainer.counters.env_steps + steps
        if self.run_dir is not None:
            write_config(self.run_dir, self.preset, self.config)
        self.last_outcome = train(
            trainer,
            self.run_dir,
            progress=bool(self.verbose) or progress_bar,
            artifacts=self.run_dir is not None,
            budget=budget,
            callback=as_callback(callback),
            agent=self,
            live=True if progress_bar else None,
            log_interval=log_interval,
            final_evaluation=self.run_dir is not None,  # SB3's learn does not evaluate; use agent.evaluate
        )
        return self

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray | int, None]:
        """Actions for one observation or a batch of them, chosen by search; returns ``(actions, None)``.

        Observations are the environment's own (an array of any shape, an integer, a tuple or a dict,
        or a batch of such), converted as in training. ``action_masks`` (A,) or (B, A) bool, e.g.
        ``info["action_mask"]``, restricts the choice to legal actions. ``deterministic``: no root
        noise and the most-visited action (as in evaluation); otherwise (SB3's default) root noise and
        a draw from the visit counts at temperature 1. ``state`` and ``episode_start`` are SB3's
        recurrent-policy arguments: accepted and ignored, and the returned state is always None.
        """
        observation, game_masks = self._game_observations(observation)
        if action_masks is None:
            action_masks = game_masks
        batch, single = self.encoder.encode_batch(observation)
        legal = None
        if action_masks is not None:
            legal = np.asarray(action_masks).astype(bool).reshape(len(batch), -1)
            legal[~legal.any(axis=1)] = True  # no legal action at all: let the search consider every one
        if deterministic:
            actions = greedy_actions(self.model, batch, self.config.search, legal)
        else:
            search = self.config.search
            actions = run_mcts(self.model, batch, search, self._rng, legal_actions=legal, temperature=1.0).action
        return (int(actions[0]) if single else actions), None

    def _game_observations(self, observation: Any) -> tuple[Any, np.ndarray | None]:
        """A two-player agent's input as PettingZoo gives it (the dict of the player to move, with 'observation'
        and 'action_mask', or a list of them) -> (what the encoder reads, the legal moves); else unchanged."""
        if not self.two_player:
            return observation, None
        items = [observation] if isinstance(observation, dict) else list(observation)
        converted = [from_pettingzoo(item) for item in items]
        masks = None
        if all(mask is not None for _, mask in converted):
            masks = np.stack([mask for _, mask in converted])
        observations = [obs for obs, _ in converted]
        return (observations[0] if isinstance(observation, dict) else observations), masks

    def evaluate(
        self,
        episodes: int = 100,
        seed: int = 0,
        env: EnvLike | None = None,
        opponent: str | None = None,
        opening_plies: int | None = None,
    ) -> EvalResult:
        """Greedy episodes (no root noise, most-visited action) on the agent's environment or ``env``.

        For a two-player game: ``episodes`` games against ``opponent`` (default ``eval.opponent``, else the
        game's first), half of them as the first player, each opened by ``opening_plies`` random plies
        (default ``eval.opening_plies``, else the game's: 2 for Connect Four, 0 for tic-tac-toe).
        """
        return evaluate(
            self.model,
            self._source(env),
            episodes,
            seed,
            self.config.search,
            opponent=opponent or self.config.eval.opponent,
            opening_plies=self.config.eval.opening_plies if opening_plies is None else opening_plies,
        )

    @property
    def source(self) -> EnvSource:
        """How to make the agent's environment (one at a time, for evaluation and rendering)."""
        return self._source(None)

    def _source(self, env: EnvLike | None) -> EnvSource:
        if env is None and self.trainer is not None:
            return self.trainer.source
        config, factory = self._env_config(env)
        return EnvSource.from_config(config.env, factory)

    def _env_config(self, env: EnvLike | None) -> tuple[Config, Callable[..., gym.Env] | None]:
        return self._env_config_of(self.config, self.env_factory, env)

    @staticmethod
    def _env_config_of(
        config: Config, factory: Callable[..., gym.Env] | None, env: EnvLike | None
    ) -> tuple[Config, Callable[..., gym.Env] | None]:
        """The config and factory that make ``env`` (an id or a factory; None: the config's own)."""
        if env is None:
            return config, factory
        if isinstance(env, str):
            return config.replace({"env.id": env}), None
        if callable(env):
            return config, env
        raise TypeError(f"env must be a Gymnasium id or a factory returning a gymnasium.Env, got {env!r}")

    def save(self, path: str | Path) -> Path:
        """Write the agent to one file (weights, optimiser, replay, counters, config); returns its path.

        A path without a suffix gets ``.pt`` (as SB3 adds ``.zip``); a directory gets ``checkpoint.pt`` inside.
        """
        path = Path(path)
        if path.is_dir():
            path = path / CHECKPOINT_NAME
        elif path.suffix == "":
            path = path.with_suffix(".pt")
        if self.trainer is not None:
            state = self.trainer.state_dict()
        else:
            state = dict(self._loaded_state or {})
            state["network"] = self.network.state_dict()
        save_checkpoint(path, state)
        return path

    @classmethod
    def load(cls, path: str | Path, env: EnvLike | None = None, device: str = "auto", verbose: int = 1) -> MuZero:
        """An agent from a checkpoint file (or a run directory).

        Without ``env`` it only builds the networks: ``predict`` works at once and nothing else is made
        (``evaluate`` and ``learn`` make the recorded environment when they need it). With ``env`` (an id
        or a factory, e.g. the one a custom environment was trained with) training can continue.
        """
        state = load_checkpoint(path)
        if "observation_space" not in state["env"]:  # written before the space was recorded: ask the environment
            config, factory = cls._env_config_of(Config.from_dict(state["config"]), None, env)
            space = EnvSource.from_config(config.env, factory).spec().observation_space
            state["env"] = state["env"] | {"observation_space": space_to_plain(space)}
        try:
            agent = cls(Config.from_dict(state["config"]), device=device, verbose=verbose, _checkpoint=state)
        except CheckpointError as error:
            raise CheckpointError(f"{path}: {error}") from None
        if env is not None:
            agent.set_env(env)
        return agent

    def set_env(self, env: EnvLike) -> None:
        """Give a loaded agent its environment (an id or a factory), so that ``learn`` can continue."""
        config, factory = self._env_config(env)
        self.env_factory = factory
        try:
            trainer = make_trainer(config, factory)
        except EnvironmentNotSupported as error:
            raise CheckpointError(
                f"cannot continue training on {config.env.id!r} ({error}); pass the environment it was trained "
                "on: MuZero.load(path, env=make_my_env)"
            ) from None
        if self._loaded_state is not None:
            state = dict(self._loaded_state)
            state["network"] = self.network.state_dict()
            trainer.load_state_dict(state)
            self._loaded_state = None
        self._attach(trainer)

    def _trainer_for_learning(self) -> Trainer:
        if self.trainer is None:
            self.set_env(self.config.env.id)
        assert self.trainer is not None
        return self.trainer


def _resolve(config: Config | EnvLike | None, preset: str | None) -> tuple[Config, str, Callable[..., gym.Env] | None]:
    """(config, preset name, environment factory) from what the constructor was given."""
    if config is None or isinstance(config, str):
        resolved, name = presets.resolve(config, preset)
        return resolved, name, None
    if isinstance(config, Config):
        return config, preset or "custom", None
    if callable(config):
        probe = config()
        env_id = probe.spec.id if probe.spec is not None else getattr(config, "__name__", "custom")
        probe.close()
        resolved, name = presets.resolve(None, preset or presets.GENERIC)
        return resolved.replace({"env.id": env_id}), name, config
    raise TypeError(f"MuZero expects a Config, an environment id or an environment factory, got {config!r}")


def _apply_overrides(config: Config, overrides: dict[str, Any] | Sequence[str] | None) -> Config:
    if overrides is None:
        return config
    if isinstance(overrides, dict):
        return config.replace(overrides)
    if isinstance(overrides, str):
        raise TypeError("overrides must be a dict or a list of 'key=value' strings, not one string")
    return config.with_sets(list(overrides))
