"""Self-play away from the learner: a worker that plays chunks of trajectory with a copy of the network.

A ``SelfPlayWorker`` holds what one acting process needs (its own batch of environments, the
same ``Actor`` and batched search the single-process trainer uses, a CPU copy of the networks)
and no replay: its ``Actor`` writes into a ``ChunkRecorder``, and ``collect`` hands back the
recorded ``Chunk`` for the learner to write into the one replay buffer it owns
(``Chunk.write_into``). Weights arrive by version (``set_weights``). Nothing here knows how the
worker is run: ``muzero.distributed`` runs workers in Ray actors; a test runs one in-process.

Letters: T actor steps in a chunk, B environments of the worker, M episodes ending at a step,
D observation size, A actions.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
import torch

from muzero.config import Config
from muzero.envs.batch import BatchEnv, EnvSource
from muzero.model.device import torch_settings
from muzero.replay.buffer import ReplayBuffer
from muzero.seeding import seed_everything
from muzero.training.acting import Actor
from muzero.training.planning import build_model


class StepRows(NamedTuple):
    observation: np.ndarray  # (B, D) observation searched
    policy: np.ndarray  # (B, A) the search's policy target
    value: np.ndarray  # (B,) root value
    action: np.ndarray  # (B,) action taken
    reward: np.ndarray  # (B,) scaled reward that followed
    chance: np.ndarray | None = None  # (B,) the chance outcome the environment named (-1 none), or None


class EpisodeEnds(NamedTuple):
    envs: np.ndarray  # (M,) the worker's environments whose episodes ended
    final_observation: np.ndarray  # (M, D)
    terminated: np.ndarray  # (M,) bool: truly ended, not cut off
    final_value: np.ndarray  # (M,) the network's value of the final observation


class Chunk(NamedTuple):
    steps: list[StepRows]  # T steps, in order
    ends: list[EpisodeEnds | None]  # T: the episodes that ended after each step
    episode_returns: np.ndarray  # (E,) unscaled returns of the episodes that ended in the chunk
    episode_lengths: np.ndarray  # (E,)
    weights_version: int  # training step of the weights that played it
    seconds: float  # time the worker spent playing it

    @property
    def env_steps(self) -> int:
        return sum(len(step.action) for step in self.steps)

    def write_into(self, replay: ReplayBuffer, first_ring: int) -> None:
        """Append the chunk to ``replay``'s rings ``first_ring..first_ring + B - 1``, step by step."""
        for step, ends in zip(self.steps, self.ends, strict=True):
            rings = first_ring + np.arange(len(step.action))
            replay.add_step(*step, envs=rings)
            if ends is not None:
                replay.end_episodes(first_ring + ends.envs, ends.final_observation, ends.terminated, ends.final_value)


class ChunkRecorder:
    """What an ``Actor`` writes its steps to in place of a replay buffer: ``add_step`` and ``end_episodes``."""

    def __init__(self) -> None:
        self.steps: list[StepRows] = []
        self.ends: list[EpisodeEnds | None] = []

    def add_step(
        self,
        observation: np.ndarray,
        policy: np.ndarray,
        value: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        chance: np.ndarray | None = None,
    ) -> None:
        rows = (observation, policy, value, action, reward, chance)
        copies = (None if a is None else np.array(a, copy=True) for a in rows)
        self.steps.append(StepRows(*copies))
        self.ends.append(None)

    def end_episodes(
        self, envs: np.ndarray, final_observation: np.ndarray, terminated: np.ndarray, final_value: np.ndarray
    ) -> None:
        self.ends[-1] = EpisodeEnds(
            np.asarray(envs, np.int64), np.array(final_observation), np.array(terminated), np.array(final_value)
        )

    def take(self) -> tuple[list[StepRows], list[EpisodeEnds | None]]:
        taken = self.steps, self.ends
        self.steps, self.ends = [], []
        return taken


WORKER_SEED_STRIDE = 1_000_003  # environment seeds of worker k start this far apart (k + 1 strides)


class SelfPlayWorker:
    """One actor's self-play: ``config.env.num_envs`` environments, a CPU copy of the networks, the run's search.

    ``index`` tells workers apart (their environment and acting seeds differ) and ``incarnation`` the
    restarts of one worker (a restarted worker must not replay the episodes it played before).
    """

    def __init__(self, config: Config, index: int, incarnation: int = 0, env_factory: Any = None) -> None:
        self.config = config
        self.source = EnvSource.from_config(config.env, env_factory)
        self.spec = spec = self.source.spec()
        generators = seed_everything(config.run.seed)
        torch.manual_seed(config.run.seed + 7919 * (index + 1) + incarnation)
        self.model = build_model(config, spec.observation_space, spec.num_actions, spec.two_player, torch.device("cpu"))
        self.model.network.eval()
        env_seed = generators.env_seed + WORKER_SEED_STRIDE * (index + 1) + 10_007 * incarnation
        self.envs = BatchEnv(self.source, config.env.num_envs, env_seed, config.env.vectorization)
        self.recorder = ChunkRecorder()
        acting = config.acting
        self.actor = Actor(
            self.envs,
            self.model,
            self.recorder,
            config.search,
            np.random.default_rng([config.run.seed, index, incarnation]),
            config.env.reward_scale,
            acting.explore_probability,
            acting.explore_max_repeat,
            acting.explore_spread,
            acting.temperature_moves,
        )
        self.weights_version = -1  # none yet

    def set_weights(self, version: int, state: dict[str, torch.Tensor]) -> None:
        self.model.network.load_state_dict(state)
        self.weights_version = version

    def collect(self, num_steps: int, temperature: float) -> Chunk:
        """Play ``num_steps`` steps of every environment with the current weights; the recorded chunk."""
        started = time.perf_counter()
        returns, lengths = [], []
        threads = max(1, round(self.config.distributed.actor_cpus))  # the CPUs Ray reserved for this actor
        with torch_settings(threads, self.config.run.flush_denormal):
            for _ in range(num_steps):
                step = self.actor.step(temperature)
                returns.append(step.episode_return[step.done])
                lengths.append(step.episode_length[step.done])
        steps, ends = self.recorder.take()
        return Chunk(
            steps,
            ends,
            np.concatenate(returns),
            np.concatenate(lengths),
            self.weights_version,
            time.perf_counter() - started,
        )

    def close(self) -> None:
        self.envs.close()
