"""Callbacks for ``MuZero.learn``, shaped like Stable-Baselines3's.

A callback subclasses ``BaseCallback`` and overrides any of

    on_training_start()          before the first step of a ``learn`` call
    on_step() -> bool            after every batched environment step (``env.num_envs`` steps); False stops
    on_evaluation(result, kind)  after every evaluation the trainer runs: kind is "periodic", "confirm"
                                 (the 100-episode confirmation of a solve) or "final"; False stops
    on_training_end()            after the last step

and reads ``self.model`` (the agent), ``self.num_timesteps`` (the agent's step counter, as in SB3),
``self.n_calls`` (``on_step`` calls so far) and ``self.trainer`` (the loop, with its counters).
SB3's private ``_on_step`` works too: the default ``on_step`` calls it. Only an explicit ``False``
stops training (SB3 also stops on ``None``; forgetting a ``return True`` should not end a run).

Ready-made: ``CheckpointCallback``, ``EvalCallback`` (keeps the best model),
``StopTrainingOnRewardThreshold`` and ``CallbackList``; ``learn`` accepts a list of callbacks too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from muzero.app.formatting import describe_returns, format_return
from muzero.training.evaluation import EvalResult
from muzero.training.learner import Losses

if TYPE_CHECKING:
    import gymnasium as gym

    from muzero.config import Config
    from muzero.training.trainer import Trainer


class Agent(Protocol):
    """What a callback may ask of the agent it is given as ``self.model`` (``muzero.MuZero`` serves it)."""

    @property
    def num_timesteps(self) -> int: ...

    def save(self, path: str | Path) -> Path: ...

    def evaluate(
        self, episodes: int = 100, seed: int = 0, env: str | Callable[..., gym.Env] | None = None
    ) -> EvalResult: ...


class BaseCallback:
    """The base class of every callback; it also serves the training loop as an observer."""

    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose
        self.model: Agent | None = None
        self.trainer: Trainer | None = None
        self.parent: BaseCallback | None = None  # the EvalCallback that calls this one on a new best
        self.n_calls = 0

    # -- what subclasses override ------------------------------------------------------------------------------

    def on_training_start(self) -> None:
        """Called once before training starts in a ``learn`` call."""

    def on_step(self) -> bool:
        """Called after every batched environment step; return False to stop training."""
        return self._on_step()

    def _on_step(self) -> bool:
        return True

    def on_evaluation(self, result: EvalResult, kind: str) -> bool | None:
        """Called after each of the trainer's evaluations; return False to stop training."""
        return True

    def on_training_end(self) -> None:
        """Called once when a ``learn`` call ends (budget spent, stopped, or interrupted)."""

    # -- plumbing ----------------------------------------------------------------------------------------------

    @contextmanager
    def session(self, model: Agent | None, trainer: Trainer) -> Iterator[BaseCallback]:
        """A callback's whole life over one ``learn`` call, in one place: it learns its agent and trainer,
        hears ``on_training_start``, then the loop's events (as an observer) and ``on_training_end`` last."""
        self.init_callback(model, trainer)
        self.on_training_start()
        try:
            yield self
        finally:
            self.on_training_end()

    def init_callback(self, model: Agent | None, trainer: Trainer) -> None:
        self.model = model
        self.trainer = trainer

    @property
    def num_timesteps(self) -> int:
        if self.model is not None:
            return self.model.num_timesteps
        return 0 if self.trainer is None else self.trainer.counters.env_steps

    # The training loop's observer protocol (muzero.training.trainer.Observer); a callback given straight
    # to a Trainer as an observer learns its trainer here.
    def on_iteration(self, trainer: Trainer) -> None:
        self.trainer = self.trainer or trainer
        self.n_calls += 1
        if self.on_step() is False:
            trainer.request_stop("callback")

    def on_eval(self, trainer: Trainer, result: EvalResult, kind: str) -> None:
        self.trainer = self.trainer or trainer
        if self.on_evaluation(result, kind) is False:
            trainer.request_stop("callback")

    def on_episodes(self, trainer: Trainer, returns: np.ndarray, lengths: np.ndarray) -> None:
        pass

    def on_train_step(self, trainer: Trainer, losses: Losses) -> None:
        pass


class CallbackList(BaseCallback):
    """Several callbacks in order; training stops when any of them asks."""

    def __init__(self, callbacks: Sequence[BaseCallback]) -> None:
        super().__init__()
        self.callbacks = list(callbacks)

    def init_callback(self, model: Agent | None, trainer: Trainer) -> None:
        super().init_callback(model, trainer)
        for callback in self.callbacks:
            callback.init_callback(model, trainer)

    def on_training_start(self) -> None:
        for callback in self.callbacks:
            callback.on_training_start()

    def on_iteration(self, trainer: Trainer) -> None:
        self.n_calls += 1
        for callback in self.callbacks:
            callback.on_iteration(trainer)

    def on_eval(self, trainer: Trainer, result: EvalResult, kind: str) -> None:
        for callback in self.callbacks:
            callback.on_eval(trainer, result, kind)

    def on_training_end(self) -> None:
        for callback in self.callbacks:
            callback.on_training_end()


def as_callback(callback: BaseCallback | Sequence[BaseCallback] | None) -> BaseCallback | None:
    """What ``learn(callback=...)`` accepts: one callback, a list of them, or None."""
    if callback is None or isinstance(callback, BaseCallback):
        return callback
    if isinstance(callback, Sequence) and all(isinstance(c, BaseCallback) for c in callback):
        return CallbackList(callback)
    raise TypeError(f"callback must be a BaseCallback or a list of them, got {callback!r}")


class StopTrainingOnRewardThreshold(BaseCallback):
    """Stop when the agent is good enough.

    On its own (as the command line uses it): with no threshold, stop when the trainer confirms the
    solve threshold (``eval.solve_threshold``, else the env's reward threshold) on
    ``eval.confirm_episodes`` fresh episodes; with a threshold, stop when a periodic evaluation's mean
    reaches it. Only evaluations of the current ``learn`` call count. As
    ``EvalCallback(callback_on_new_best=...)``: stop when the best mean reaches the threshold (SB3).
    """

    def __init__(self, reward_threshold: float | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.reward_threshold = reward_threshold
        self.reached = False

    def on_training_start(self) -> None:
        self.reached = False

    def on_step(self) -> bool:
        if self.parent is not None:
            best = getattr(self.parent, "best_mean_reward", -np.inf)
            threshold = self.reward_threshold
            if threshold is None and self.trainer is not None:
                threshold = self.trainer.solve_threshold
            return threshold is None or best < threshold
        return not self.reached

    def on_evaluation(self, result: EvalResult, kind: str) -> bool:
        if self.parent is not None or self.trainer is None:
            return True
        if self.reward_threshold is None:
            # A confirmation runs only while unsolved, and it reaching the threshold is what marks the solve.
            threshold = self.trainer.solve_threshold
            reached = (
                kind == "confirm" and threshold is not None and not result.stopped_early and result.mean >= threshold
            )
        else:
            reached = kind == "periodic" and result.mean >= self.reward_threshold
        if reached and not self.reached and self.verbose:
            print(f"stopping training: evaluation mean {format_return(result.mean)} reached the threshold")
        self.reached = self.reached or reached
        return True


class CheckpointCallback(BaseCallback):
    """Save the agent every ``save_freq`` environment steps to ``save_path/{name_prefix}_{steps}_steps.pt``.

    SB3 counts ``save_freq`` in callback calls; here it is environment steps, whatever ``env.num_envs`` is.
    """

    def __init__(self, save_freq: int, save_path: str | Path, name_prefix: str = "muzero_model", verbose: int = 0):
        super().__init__(verbose)
        if save_freq < 1:
            raise ValueError("save_freq must be at least 1")
        self.save_freq = save_freq
        self.save_path = Path(save_path)
        self.name_prefix = name_prefix
        self._next = 0

    def on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.save_freq + 1) * self.save_freq

    def on_step(self) -> bool:
        if self.num_timesteps >= self._next and self.model is not None:
            while self._next <= self.num_timesteps:
                self._next += self.save_freq
            path = self.model.save(self.save_path / f"{self.name_prefix}_{self.num_timesteps}_steps.pt")
            if self.verbose:
                print(f"saved checkpoint {path}")
        return True


class EvalCallback(BaseCallback):
    """Evaluate every ``eval_freq`` environment steps on ``n_eval_episodes`` episodes; keep the best model.

    The evaluation uses ``eval_env`` (an id or a factory; default the training environment) on
    episode seeds of its own. On a new best mean, the agent is saved to
    ``best_model_save_path/best_model.pt`` and ``callback_on_new_best`` is called (its ``False``
    stops training). ``evaluations_timesteps`` and ``evaluations_results`` hold every result, and
    ``log_path`` (if given) receives them as ``evaluations.npz``, as in SB3.
    """

    def __init__(
        self,
        eval_env: str | Callable[..., gym.Env] | None = None,
        callback_on_new_best: BaseCallback | None = None,
        n_eval_episodes: int = 10,
        eval_freq: int = 10_000,
        log_path: str | Path | None = None,
        best_model_save_path: str | Path | None = None,
        deterministic: bool = True,
        seed: int = 2_000_000,
        verbose: int = 1,
    ) -> None:
        super().__init__(verbose)
        if not deterministic:
            raise ValueError("EvalCallback evaluates greedily (no root noise, most-visited action) only")
        self.eval_env = eval_env
        self.callback_on_new_best = callback_on_new_best
        if callback_on_new_best is not None:
            callback_on_new_best.parent = self
        self.n_eval_episodes = n_eval_episodes
        self.eval_freq = eval_freq
        self.log_path = None if log_path is None else Path(log_path)
        self.best_model_save_path = None if best_model_save_path is None else Path(best_model_save_path)
        self.seed = seed
        self.best_mean_reward = -np.inf
        self.last_mean_reward = -np.inf
        self.evaluations_timesteps: list[int] = []
        self.evaluations_results: list[list[float]] = []
        self._next = 0

    def init_callback(self, model: Agent | None, trainer: Trainer) -> None:
        super().init_callback(model, trainer)
        if self.callback_on_new_best is not None:
            self.callback_on_new_best.init_callback(model, trainer)

    def on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.eval_freq + 1) * self.eval_freq

    def on_step(self) -> bool:
        if self.num_timesteps < self._next or self.model is None:
            return True
        while self._next <= self.num_timesteps:
            self._next += self.eval_freq
        result = self.model.evaluate(
            self.n_eval_episodes, seed=self.seed + len(self.evaluations_timesteps) * 1_000, env=self.eval_env
        )
        self.last_mean_reward = result.mean
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append([float(r) for r in result.returns])
        if self.log_path is not None:
            self.log_path.mkdir(parents=True, exist_ok=True)
            np.savez(
                self.log_path / "evaluations.npz",
                timesteps=np.asarray(self.evaluations_timesteps),
                results=np.asarray(self.evaluations_results),
            )
        if self.verbose:
            print(f"eval at {self.num_timesteps:,} steps: {describe_returns(result.summary())}")
        if result.mean > self.best_mean_reward:
            self.best_mean_reward = result.mean
            if self.best_model_save_path is not None:
                self.model.save(self.best_model_save_path / "best_model.pt")
            if self.callback_on_new_best is not None:
                return self.callback_on_new_best.on_step() is not False
        return True


def default_callbacks(config: Config) -> list[BaseCallback]:
    """The command line's callbacks: stop at a confirmed solve unless ``run.stop_when_solved`` is off."""
    return [StopTrainingOnRewardThreshold()] if config.run.stop_when_solved else []


__all__ = [
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "EvalCallback",
    "StopTrainingOnRewardThreshold",
]
