"""The Python API, shaped like Stable-Baselines3: ``MuZero(config).learn()``, ``predict``, ``save``, ``load``.

from muzero import MuZero, presets

agent = MuZero(presets.cartpole(), run_dir="runs/demo")   # run_dir is optional
agent.learn()                                             # until solved or the step budget
action, _ = agent.predict(observation, deterministic=True)
agent.save("cartpole.pt")
agent = MuZero.load("cartpole.pt")                       # or a run directory
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from muzero.app.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from muzero.app.runner import RunOutcome, start_run, train, write_config
from muzero.config import Config
from muzero.search.mcts import run_mcts, select_actions
from muzero.training.evaluation import EvalResult
from muzero.training.trainer import Trainer


class MuZero:
    def __init__(
        self,
        config: Config | None = None,
        run_dir: str | Path | None = None,
        verbose: bool = True,
        preset: str = "custom",
    ) -> None:
        self.config = config or Config()
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.verbose = verbose
        self.preset = preset
        self.trainer = Trainer(self.config) if self.run_dir is None else start_run(self.config, self.run_dir, preset)
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
        self, observation: np.ndarray, deterministic: bool = True, legal_actions: np.ndarray | None = None
    ) -> tuple[np.ndarray | int, None]:
        """Actions for one observation (D,) or a batch (B, D), chosen by search.

        Deterministic: no root noise, most-visited action (as in evaluation). Otherwise: root
        noise and a draw from the visit counts at temperature 1. Returns (action, None) like
        Stable-Baselines3, whose second value is a recurrent state this agent does not have.
        """
        obs = np.asarray(observation, np.float32)
        single = obs.ndim == 1
        batch = obs[None] if single else obs
        legal = None if legal_actions is None else np.asarray(legal_actions, bool).reshape(len(batch), -1)
        rng = None if deterministic else self.trainer.generators.acting
        result = run_mcts(self.model, batch, self.config.search, rng, legal_actions=legal)
        actions = select_actions(result.visit_counts, 0.0 if deterministic else 1.0, rng)
        return (int(actions[0]) if single else actions), None

    def evaluate(self, episodes: int = 100, seed: int = 0) -> EvalResult:
        from muzero.training.evaluation import evaluate

        return evaluate(
            self.model, self.config.env.id, episodes, seed, self.config.search, self.config.env.max_episode_steps
        )

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint file (weights, optimiser, replay, counters, config); returns its path."""
        path = Path(path)
        if path.is_dir() or path.suffix == "":
            path = path / CHECKPOINT_NAME
        save_checkpoint(path, self.trainer.state_dict())
        return path

    @classmethod
    def load(cls, path: str | Path, verbose: bool = True) -> MuZero:
        """An agent from a checkpoint file or a run directory, ready to predict or to continue learning."""
        state = load_checkpoint(path)
        config = Config.from_dict(state["config"])
        agent = cls.__new__(cls)
        agent.config = config
        agent.run_dir = None
        agent.verbose = verbose
        agent.preset = "custom"
        agent.trainer = Trainer(config)
        agent.trainer.load_state_dict(state)
        agent.last_outcome = None
        return agent
