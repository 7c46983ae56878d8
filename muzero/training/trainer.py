"""The single-process training loop: act, learn, evaluate, repeat.

One iteration steps every acting environment once with a batched search, then runs as many
training steps as the replay ratio owes (``acting.train_ratio`` per environment step), and every
``eval.interval`` environment steps evaluates greedily. A periodic evaluation that reaches the
solve threshold is confirmed on ``eval.confirm_episodes`` fresh episodes before the run counts
as solved. The loop knows nothing of files or terminals: an ``Observer`` receives what happens.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch

from muzero.config import Config
from muzero.envs.batch import BatchEnv, EnvSource, EnvSpec
from muzero.envs.games.opponents import opponents_for
from muzero.envs.make import probe
from muzero.envs.spaces import ObservationEncoder, space_to_plain, storage_dtype
from muzero.envs.stacking import Stacking
from muzero.errors import CheckpointError, ConfigError
from muzero.model.bridge import NetworkModel
from muzero.model.device import resolve_device, torch_settings
from muzero.model.support import support_sizes
from muzero.replay.buffer import ReplayBuffer, TrainingBatch
from muzero.seeding import FINAL_EVAL_SEEDS, seed_everything
from muzero.training.acting import Actor
from muzero.training.augment import augment, training_symmetries
from muzero.training.evaluation import EvalResult, StopBelow, evaluate
from muzero.training.learner import Learner, Losses
from muzero.training.planning import build_model, search_model
from muzero.training.reanalyse import Reanalyser


@dataclass
class Counters:
    env_steps: int = 0
    episodes: int = 0
    train_steps: int = 0
    owed_train_steps: float = 0.0
    next_eval: int = 0
    wall_seconds: float = 0.0  # accumulated over resumed sessions
    next_checkpoint: int = 0
    solved: bool = False
    clipped_targets: int = 0  # value and reward targets clipped to the ends of their supports, all steps
    eval_episodes: int = 0  # episodes played by periodic and confirming evaluations (their seeds are not reused)
    env_steps_to_solve: int | None = None
    seconds_to_solve: float | None = None
    last_eval_mean: float | None = None
    timers: dict[str, float] = field(default_factory=lambda: {"acting": 0.0, "learning": 0.0, "evaluation": 0.0})


class Observer(Protocol):
    def on_episodes(self, trainer: Trainer, returns: np.ndarray, lengths: np.ndarray) -> None: ...

    def on_train_step(self, trainer: Trainer, losses: Losses) -> None: ...

    def on_eval(self, trainer: Trainer, result: EvalResult, kind: str) -> None: ...

    def on_iteration(self, trainer: Trainer) -> None: ...


PROBE_STEPS = 2_000  # random-policy steps that measure an environment's reward scale and look for chance


def resolve_from_probe(config: Config, source: EnvSource, spec: EnvSpec) -> Config:
    """The config with what it leaves to the environment chosen from a probe of it (``muzero.envs.make.probe``:
    ``PROBE_STEPS`` steps of a random policy on its own random stream, so the run's streams are untouched):

    - value and reward support sizes, where None: the reward scale is the largest |reward| met, times
      ``env.reward_scale``; with the episode limit and the discount it bounds the returns (``support_sizes``).
      What this misses, the learner counts as clipped targets.
    - ``network.dynamics = "auto"``: "stochastic" where one observation and action led to different outcomes,
      else "deterministic".
    - ``network.chance_labels = "auto"`` of a stochastic network: "env" where every step's info named its
      chance outcome (``info["chance"]``), else "encoder".
    """
    network = config.network
    needs_supports = network.value_support_size is None or network.reward_support_size is None
    needs_labels = network.chance_labels == "auto" and network.dynamics != "deterministic"
    if not needs_supports and network.dynamics != "auto" and not needs_labels:
        return config
    found = probe(source, PROBE_STEPS, seed=config.run.seed)
    changes: dict[str, object] = {}
    dynamics = network.dynamics
    if dynamics == "auto":
        dynamics = "stochastic" if found.chance else "deterministic"
        changes["network.dynamics"] = dynamics
    if network.chance_labels == "auto":
        changes["network.chance_labels"] = "env" if dynamics == "stochastic" and found.chance_labels else "encoder"
    labels = changes.get("network.chance_labels", network.chance_labels)
    if dynamics == "stochastic" and labels == "env" and not 0 <= found.max_chance_label < network.chance_codes:
        raise ConfigError(
            f"network.chance_labels = 'env' needs info['chance'] in [0, network.chance_codes = {network.chance_codes}) "
            f"after every step; the environment named {found.max_chance_label} (or none): raise chance_codes, "
            "or set network.chance_labels = 'encoder'"
        )
    if needs_supports:
        reward = found.max_abs_reward * config.env.reward_scale
        if spec.reward_threshold is not None and reward == 0.0:
            reward = abs(spec.reward_threshold)  # a random policy never saw a reward: take the goal's scale
        value_size, reward_size = support_sizes(reward or 1.0, config.discount, spec.max_episode_steps)
        changes["network.value_support_size"] = network.value_support_size or value_size
        changes["network.reward_support_size"] = network.reward_support_size or reward_size
    return config.replace(changes)


REPLAY_MEMORY_SHARE = 0.5  # replay may take at most this share of the machine's memory


def build_replay(config: Config, spec: EnvSpec, rings: int) -> ReplayBuffer:
    """Replay for the run: observations stored as they travel (uint8 pixels, else float32), stacked frames
    stored once (``muzero.envs.stacking``); refused (one line) when it would not fit in memory."""
    dtype = storage_dtype(spec.observation_space)
    stacking = None
    if config.env.frame_stack > 1:
        frames, codes = config.env.frame_stack, spec.num_actions if config.env.stack_actions else 0
        stacking = Stacking(frames, spec.observation_size // frames - codes, codes)
    per_row = (stacking.frame_size if stacking else spec.observation_size) * dtype.itemsize
    needed = config.replay.capacity * per_row
    available = machine_memory()
    if available and needed > REPLAY_MEMORY_SHARE * available:
        raise ConfigError(
            f"replay.capacity = {config.replay.capacity:,} observations of {per_row:,} bytes need "
            f"{needed / 2**30:.1f} GiB, more than half this machine's {available / 2**30:.1f} GiB: "
            "lower replay.capacity"
        )
    return ReplayBuffer(rings, spec.observation_size, spec.num_actions, config.replay, dtype, stacking)


def machine_memory() -> int:
    """Bytes of physical memory (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


class Trainer:
    def __init__(
        self,
        config: Config,
        observers: list[Observer] | None = None,
        env_factory: Callable[..., gym.Env] | None = None,
    ) -> None:
        self.observers = list(observers or [])
        self.device = resolve_device(config.run.device)
        self.source = EnvSource.from_config(config.env, env_factory)
        self.spec = self.source.spec()
        self.encoder = ObservationEncoder(self.spec.observation_space)
        auto_dynamics = config.network.dynamics == "auto"
        auto_labels = config.network.chance_labels == "auto"
        self.config = config = resolve_from_probe(config, self.source, self.spec)
        # What the run decided for the user, said once when training starts (muzero.app.runner.train)
        self.notes: list[str] = []
        if auto_dynamics and config.network.dynamics == "stochastic":
            self.notes.append(
                "network.dynamics auto -> stochastic (Stochastic MuZero): before training, a random policy saw one "
                "observation and action lead to different outcomes; --set network.dynamics=deterministic to override"
            )
        if auto_labels and config.network.dynamics == "stochastic" and config.network.chance_labels == "env":
            self.notes.append(
                "network.chance_labels auto -> env: the environment names each step's chance outcome in "
                "info['chance'], and those are the codes learned (the chance encoder is not used); "
                "--set network.chance_labels=encoder to learn codes instead"
            )
        self.generators = seed_everything(config.run.seed)
        spec = self.spec
        self.model = build_model(config, spec.observation_space, spec.num_actions, spec.two_player, self.device)
        self.network = self.model.network
        self.discount = self.model.discount  # per move: -gamma in a two-player game
        self.learner = Learner(self.network, config.learner)
        self.replay = build_replay(config, self.spec, self.replay_rings())
        self.envs = BatchEnv(self.source, config.env.num_envs, self.generators.env_seed, config.env.vectorization)
        self.actor = Actor(
            self.envs,
            self.model,
            self.replay,
            config.search,
            self.generators.acting,
            config.env.reward_scale,
            config.acting.explore_probability,
            config.acting.explore_max_repeat,
            config.acting.explore_spread,
            config.acting.temperature_moves,
        )
        reanalyse_net = self.learner.target_network if config.learner.reanalyse_network == "target" else self.network
        self.reanalyser = Reanalyser(
            search_model(config, NetworkModel(reanalyse_net, self.discount)),
            config,
            masked=self.envs.legal_actions is not None,
        )
        self.symmetries = training_symmetries(config)  # None: no augmentation (and no random draws for it)
        self.counters = Counters(next_eval=config.eval.interval, next_checkpoint=config.run.checkpoint_interval)
        self.solve_threshold = config.eval.solve_threshold
        if self.solve_threshold is None:
            self.solve_threshold = self.spec.reward_threshold
        self._session_start = time.perf_counter()
        self._session_base = 0.0
        # Why the loop should stop before its budget ("interrupted" from a signal handler, "callback" when an
        # observer asked); the loop stops between iterations.
        self.stop_reason: str | None = None
        self.announce: Callable[[str], None] | None = None  # one-line notices for the user (see ``observing``)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the current iteration (safe from a signal handler or an observer)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def interrupt(self) -> bool:
        """The user asked to stop (a signal): stop after this iteration; True if they had asked before."""
        again = self.stop_reason == "interrupted"
        self.stop_reason = "interrupted"
        return again

    def end_reason(self) -> str:
        """Why the last ``run`` ended: "interrupted", "solved" (a confirmed solve), "stopped" (an observer
        asked) or "budget"."""
        if self.stop_reason == "interrupted":
            return "interrupted"
        if self.counters.solved:
            return "solved"
        return "budget" if self.stop_reason is None else "stopped"

    @contextmanager
    def observing(self, observers: list[Observer], announce: Callable[[str], None] | None = None) -> Iterator[None]:
        """``observers`` receive the loop's events inside the block, ahead of the trainer's own, and
        ``announce`` the learner's one-line notices (compiling the loss)."""
        self.observers = list(observers) + [o for o in self.observers if o not in observers]
        self.learner.announce = self.announce = announce
        try:
            yield
        finally:
            self.learner.announce = self.announce = None
            self.observers = [o for o in self.observers if o not in observers]

    # -- the loop -----------------------------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self._session_base + time.perf_counter() - self._session_start

    def temperature(self) -> float:
        acting = self.config.acting
        index = np.searchsorted(acting.temperature_env_steps, self.counters.env_steps, side="right") - 1
        return acting.temperatures[max(index, 0)]

    def run(self, max_env_steps: int | None = None) -> Counters:
        """Train until ``max_env_steps`` (default ``run.max_env_steps``) or until stopped; returns the counters.

        Stopping when solved is an observer's decision (``muzero.app.callbacks.StopTrainingOnRewardThreshold``,
        which the command line adds); ``run.threads`` and ``run.flush_denormal`` apply only inside this call.
        """
        budget = self.config.run.max_env_steps if max_env_steps is None else max_env_steps
        self.stop_reason = None
        self._session_base = self.counters.wall_seconds
        self._session_start = time.perf_counter()
        planned = (budget - self.counters.env_steps) * self.config.acting.train_ratio
        self.learner.prepare(int(planned))
        with torch_settings(self.learner_threads(), self.config.run.flush_denormal):
            self.loop(budget)
        self.counters.wall_seconds = self.elapsed()
        return self.counters

    def backend_summary(self) -> dict[str, Any] | None:
        """What a backend other than this single process adds to the run's summary (None here)."""
        return None

    def learner_threads(self) -> int:
        """torch threads of this process while the loop runs (``run.threads``)."""
        return self.config.run.threads

    def replay_rings(self) -> int:
        """Environments that write into replay, each into its own ring."""
        return self.config.env.num_envs

    def loop(self, budget: int) -> None:
        """Iterate until the budget, a stop request or the time limit."""
        while self.keep_going(budget):
            self.iteration()

    def keep_going(self, budget: int) -> bool:
        return self.counters.env_steps < budget and self.stop_reason is None and not self.out_of_time()

    def out_of_time(self) -> bool:
        """Whether the run has used its ``run.max_minutes`` of wall-clock."""
        limit = self.config.run.max_minutes
        return limit is not None and self.elapsed() >= 60.0 * limit

    def iteration(self) -> None:
        c = self.counters
        started = time.perf_counter()
        step = self.actor.step(self.temperature())
        c.timers["acting"] += time.perf_counter() - started
        c.env_steps += self.envs.num_envs
        self.record_episodes(step.episode_return[step.done], step.episode_length[step.done])

        started = time.perf_counter()
        if self.replay.rows_added >= self.config.acting.min_replay_size:
            c.owed_train_steps += self.envs.num_envs * self.config.acting.train_ratio
            while c.owed_train_steps >= 1.0:
                self.train_step()
                c.owed_train_steps -= 1.0
        c.timers["learning"] += time.perf_counter() - started

        if c.env_steps >= c.next_eval:
            c.next_eval += self.config.eval.interval
            started = time.perf_counter()
            self.periodic_evaluation()
            c.timers["evaluation"] += time.perf_counter() - started
        c.wall_seconds = self.elapsed()
        for observer in self.observers:
            observer.on_iteration(self)

    def record_episodes(self, returns: np.ndarray, lengths: np.ndarray) -> None:
        """Count finished episodes, (E,) returns and lengths, and tell the observers."""
        if len(returns):
            self.counters.episodes += len(returns)
            for observer in self.observers:
                observer.on_episodes(self, returns, lengths)

    def sample_batch(self) -> TrainingBatch:
        """A training batch with its targets, the first ``learner.reanalyse_fraction`` of it reanalysed, each
        sample moved by a random symmetry of the game where it has some (``muzero.training.augment``)."""
        cfg = self.config.learner
        value_fn = self.learner.target_value if cfg.reanalyse_values else None
        batch = self.replay.sample(
            cfg.batch_size, cfg.unroll_steps, cfg.td_steps, self.discount, self.generators.replay, value_fn
        )
        batch = self.reanalyser.apply(batch, self.replay, self.generators.replay)
        return batch if self.symmetries is None else augment(batch, self.symmetries, self.generators.replay)

    def train_step(self) -> Losses:
        batch = self.sample_batch()
        losses, priorities = self.learner.update(batch)
        if losses.clipped_targets and not self.counters.clipped_targets:
            warnings.warn(
                f"{int(losses.clipped_targets)} value/reward targets fell outside the supports "
                f"(value S={self.network.value_support_size}, reward S={self.network.reward_support_size}) and were "
                "clipped; raise network.value_support_size / network.reward_support_size or lower env.reward_scale "
                "(the count is logged as losses/clipped_targets)",
                stacklevel=2,
            )
        self.counters.clipped_targets += int(losses.clipped_targets)
        self.replay.update_priorities(batch.index, priorities)
        self.counters.train_steps += 1
        for observer in self.observers:
            observer.on_train_step(self, losses)
        return losses

    def evaluate(
        self,
        episodes: int,
        seed_offset: int = 0,
        opponent: str | None = None,
        stop_below: StopBelow | None = None,
    ) -> EvalResult:
        """Greedy episodes seeded from this run's own block of evaluation seeds (``muzero.seeding``).

        A game plays ``opponent`` (default ``eval.opponent``, else the game's first opponent), every game opened
        by ``eval.opening_plies`` random plies.
        """
        return evaluate(
            self.model,
            self.source,
            episodes,
            self.generators.eval_seed + seed_offset,
            self.config.search,
            opponent=opponent or self.config.eval.opponent,
            stop_below=stop_below,
            opening_plies=self.config.eval.opening_plies,
        )

    def _fresh_evaluation(self, episodes: int, stop_below: StopBelow | None = None) -> EvalResult:
        """A periodic or confirming evaluation on episode seeds no evaluation of this run has used."""
        return self.evaluate(episodes, seed_offset=self.claim_eval_seeds(episodes), stop_below=stop_below)

    def claim_eval_seeds(self, episodes: int) -> int:
        """The seed offset of the next ``episodes`` evaluation episodes, which no other evaluation will use."""
        offset = FINAL_EVAL_SEEDS + self.counters.eval_episodes
        self.counters.eval_episodes += episodes
        return offset

    def confirmation_stop(self, threshold: float) -> StopBelow | None:
        """When a confirmation may stop early: games (a game scores at most 1), or a known eval.max_episode_return."""
        bound = 1.0 if self.spec.two_player else self.config.eval.max_episode_return
        return None if bound is None else StopBelow(threshold, bound)

    def periodic_evaluation(self) -> None:
        """Evaluate; if the threshold is reached, confirm it on fresh episodes before calling the run solved."""
        c = self.counters
        # Each evaluation uses its own episode seeds, so a lucky set cannot be reused.
        result = self._fresh_evaluation(self.config.eval.episodes)
        c.last_eval_mean = result.mean
        self._notify_eval(result, "periodic")
        threshold = self.solve_threshold
        if threshold is None or result.mean < threshold or c.solved:
            return
        confirm = self._fresh_evaluation(self.config.eval.confirm_episodes, self.confirmation_stop(threshold))
        self._notify_eval(confirm, "confirm")
        self.settle_confirmation(confirm, c.env_steps, self.elapsed())

    def settle_confirmation(self, confirm: EvalResult, env_steps: int, seconds: float) -> None:
        """A confirming evaluation (of the weights at ``env_steps``, ``seconds``) that held the threshold solves."""
        c = self.counters
        if not c.solved and not confirm.stopped_early and confirm.mean >= self.solve_threshold:
            c.solved = True
            c.env_steps_to_solve = env_steps
            c.seconds_to_solve = seconds

    def is_solved(self, final: EvalResult | None) -> bool:
        """The one definition of solved: a confirmed solve (a periodic evaluation reached the threshold and
        ``eval.confirm_episodes`` fresh episodes held it) that the final evaluation, where one ran, holds too."""
        if not self.counters.solved or self.solve_threshold is None:
            return False
        return final is None or final.mean >= self.solve_threshold

    def final_evaluation(self) -> EvalResult | None:
        episodes = self.config.eval.final_episodes
        if episodes == 0:
            return None
        started = time.perf_counter()
        # Seeds no periodic evaluation uses (the start of the run's block).
        result = self.evaluate(episodes, seed_offset=0)
        if result.games is not None:  # a game: play every opponent it has, the evaluation's own first
            for name in opponents_for(self.source.game):
                if name not in result.games:
                    result.games.update(self.evaluate(episodes, seed_offset=0, opponent=name).games)
        self.counters.timers["evaluation"] += time.perf_counter() - started
        self._notify_eval(result, "final")
        return result

    def _notify_eval(self, result: EvalResult, kind: str) -> None:
        for observer in self.observers:
            observer.on_eval(self, result, kind)

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run: weights, optimiser, replay, counters, random states."""
        self.counters.wall_seconds = self.elapsed()
        return {
            "config": self.config.to_dict(),
            "env": {
                "id": self.config.env.id,
                "observation_size": self.spec.observation_size,
                "num_actions": self.spec.num_actions,
                "observation_space": space_to_plain(self.spec.observation_space),
                "two_player": self.spec.two_player,
            },
            "network": self.network.state_dict(),
            "learner": self.learner.state_dict(),
            "replay": self.replay.state_dict(),
            "counters": asdict(self.counters),
            "rng": {
                "acting": self.generators.acting.bit_generator.state,
                "replay": self.generators.replay.bit_generator.state,
                "torch": torch.get_rng_state(),
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint; episodes that were running when it was written count as cut off."""
        env = state["env"]
        if (env["observation_size"], env["num_actions"]) != (self.spec.observation_size, self.spec.num_actions):
            raise CheckpointError(
                f"checkpoint is for {env['id']} ({env['observation_size']} observations, {env['num_actions']} "
                f"actions) but the config's environment {self.config.env.id} has {self.spec.observation_size} "
                f"observations and {self.spec.num_actions} actions"
            )
        try:
            self.network.load_state_dict(state["network"])
            self.learner.load_state_dict(state["learner"])
            self.replay.load_state_dict(state["replay"])  # np.asarray reads CPU tensors
        except (RuntimeError, ValueError, KeyError) as error:
            raise CheckpointError(f"checkpoint does not fit this config's network or replay: {error}") from None
        self.replay.close_running_episodes()
        self.counters = Counters(**state["counters"])
        self.generators.acting.bit_generator.state = state["rng"]["acting"]
        self.generators.replay.bit_generator.state = state["rng"]["replay"]
        torch.set_rng_state(state["rng"]["torch"])
        # Environment states can't be saved in general: start fresh episodes, seeded from where the run is.
        self.envs.close()
        self.envs = BatchEnv(
            self.source,
            self.config.env.num_envs,
            self.generators.env_seed + self.counters.env_steps,
            self.config.env.vectorization,
        )
        self.actor.envs = self.envs
        self.actor.repeat_left[:] = 0
