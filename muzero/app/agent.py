"""The Python API, shaped like Stable-Baselines3: ``MuZero(config).learn()``, ``predict``, ``save``, ``load``.

from muzero import MuZero, presets

agent = MuZero(presets.cartpole(), run_dir="runs/demo")   # run_dir is optional
agent.learn()                                             # until solved or the step budget
action, _ = agent.predict(observation, deterministic=True)
agent.save("cartpole.pt")
agent = MuZero.load("cartpole.pt")                       # or a run directory
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from muzero import presets
from muzero.app.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from muzero.app.runner import RunOutcome, start_run, train, write_config
from muzero.config import Config
from muzero.errors import CheckpointError, EnvironmentNotSupported
from muzero.search.mcts import run_mcts, select_actions
from muzero.training.evaluation import EvalResult
from muzero.training.trainer import Trainer


class MuZero:
    def __init__(
        self,
        config: Config | str | Callable[..., gym.Env] | None = None,
        run_dir: str | Path | None = None,
        verbose: bool = True,
        preset: str | None = None,
    ) -> None:
        """``config`` is a ``Config``, a Gymnasium id (its tuned preset, else the generic one), or a
        factory returning a ``gymnasium.Env`` (the generic preset); None means CartPole-v1."""
        config, self.preset, self.env_factory = _resolve(config, preset)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.verbose = verbose
        if self.run_dir is None:
            self.trainer = Trainer(config, env_factory=self.env_factory)
        else:
            self.trainer = start_run(config, self.run_dir, self.preset, env_factory=self.env_factory)
        self.config = self.trainer.config  # with the support sizes chosen from the environment
        self.last_outcome: RunOutcome | None = None

    @property
    def model(self):
        """The search-facing model (``initial_inference`` / ``recurrent_inference``)."""
        return self.trainer.model

    def learn(self, total_env_steps: int | None = None) -> MuZero:
        """Train until solved or until ``total_env_steps`` (default: the config's ``run.max_env_steps``)."""
        if total_env_steps is not None:
            self.config = self.config.with_sets([f"run.max_env_steps={total_env_steps}"])
            self.trainer.config = self.config
            if self.run_dir is not None:
                write_config(self.run_dir, self.preset, self.config)
        self.last_outcome = train(self.trainer, self.run_dir, progress=self.verbose, artifacts=self.run_dir is not None)
        return self

    def predict(
        self, observation: Any, deterministic: bool = True, legal_actions: np.ndarray | None = None
    ) -> tuple[np.ndarray | int, None]:
        """Actions for one observation or a batch of them, chosen by search.

        Observations are the environment's own (an array of any shape, an integer, a tuple or a
        dict, or a batch of such), converted as in training. ``legal_actions`` (A,) or (B, A) bool,
        e.g. ``info["action_mask"]``, restricts the choice to legal actions. Deterministic: no root
        noise, most-visited action (as in evaluation). Otherwise: root noise and a draw from the
        visit counts at temperature 1. Returns (action, None) like Stable-Baselines3, whose second
        value is a recurrent state this agent does not have.
        """
        batch, single = self.trainer.encoder.encode_batch(observation)
        legal = None
        if legal_actions is not None:
            legal = np.asarray(legal_actions).astype(bool).reshape(len(batch), -1)
            legal[~legal.any(axis=1)] = True  # no legal action at all: let the search consider every one
        rng = None if deterministic else self.trainer.generators.acting
        result = run_mcts(self.model, batch, self.config.search, rng, legal_actions=legal)
        actions = select_actions(result.visit_counts, 0.0 if deterministic else 1.0, rng)
        return (int(actions[0]) if single else actions), None

    def evaluate(self, episodes: int = 100, seed: int = 0) -> EvalResult:
        from muzero.training.evaluation import evaluate

        return evaluate(self.model, self.trainer.source, episodes, seed, self.config.search)

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint file (weights, optimiser, replay, counters, config); returns its path."""
        path = Path(path)
        if path.is_dir() or path.suffix == "":
            path = path / CHECKPOINT_NAME
        save_checkpoint(path, self.trainer.state_dict())
        return path

    @classmethod
    def load(cls, path: str | Path, verbose: bool = True, env: Callable[..., gym.Env] | None = None) -> MuZero:
        """An agent from a checkpoint file or a run directory, ready to predict or to continue learning.

        ``env`` is the factory an agent trained on a custom (unregistered) environment needs back.
        """
        state = load_checkpoint(path)
        config = Config.from_dict(state["config"])
        agent = cls.__new__(cls)
        agent.config = config
        agent.run_dir = None
        agent.verbose = verbose
        agent.preset = "custom"
        agent.env_factory = env
        try:
            agent.trainer = Trainer(config, env_factory=env)
        except EnvironmentNotSupported as error:
            if env is not None:
                raise
            raise CheckpointError(
                f"{path} was trained on {config.env.id!r}, which cannot be made from its id ({error}); "
                "if it came from a factory, pass it back: MuZero.load(path, env=make_my_env)"
            ) from None
        agent.trainer.load_state_dict(state)
        agent.last_outcome = None
        return agent


def _resolve(
    config: Config | str | Callable[..., gym.Env] | None, preset: str | None
) -> tuple[Config, str, Callable[..., gym.Env] | None]:
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
