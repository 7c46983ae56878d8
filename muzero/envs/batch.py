"""Many copies of an environment stepping together, through Gymnasium's vector API.

``BatchEnv`` wraps a ``gymnasium.vector.VectorEnv`` (synchronous by default, asynchronous
selectable) with same-step autoreset: each copy resets on the step its episode ends, and
truncation (a time limit) stays apart from termination (a true end). On either, the observation
the episode ended on comes back in ``final_observation``, so a truncated episode can be
bootstrapped from its value. Environments that publish ``info["action_mask"]`` get their legal
actions passed to the search's root.

Letters: B environments, D observation size, A actions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from muzero.envs.make import EnvSource, EnvSpec, chance_labels_from_info, legal_actions_from_info
from muzero.envs.spaces import storage_dtype

__all__ = ["BatchEnv", "EnvSource", "EnvSpec", "EnvStep"]


class EnvStep(NamedTuple):
    observation: np.ndarray  # (B, D) next observation; the first of a new episode where one ended
    reward: np.ndarray  # (B,) float64
    terminated: np.ndarray  # (B,) bool: the episode reached a true end
    truncated: np.ndarray  # (B,) bool: the episode was cut by a time limit (not terminated)
    final_observation: np.ndarray  # (B, D) the observation each episode ended on (only meaningful where done)
    episode_return: np.ndarray  # (B,) undiscounted return of the episodes that ended (0 elsewhere)
    episode_length: np.ndarray  # (B,) length of the episodes that ended (0 elsewhere)
    chance: np.ndarray | None = None  # (B,) int: the chance outcome each step named in info["chance"], -1 none

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated


class BatchEnv:
    """B copies of an environment that reset themselves; seeded once, reproducible thereafter."""

    def __init__(self, source: EnvSource | str, num_envs: int, seed: int, mode: str = "sync") -> None:
        if isinstance(source, str):
            source = EnvSource(source)
        self.source = source
        self.vector_env = source.make_vec(num_envs, mode)
        self.num_envs = num_envs
        self.num_actions = int(self.vector_env.single_action_space.n)
        self.observation_size = int(self.vector_env.single_observation_space.shape[0])
        self.dtype = storage_dtype(self.vector_env.single_observation_space)  # float32; uint8 for pixels
        self._returns = np.zeros(num_envs)
        self._lengths = np.zeros(num_envs, np.int64)
        obs, info = self.vector_env.reset(seed=seed)
        self.vector_env.action_space.seed(seed)
        self.observation = np.asarray(obs, self.dtype).reshape(num_envs, self.observation_size)
        self.legal_actions = legal_actions_from_info(info, num_envs, self.num_actions)  # (B, A) bool or None

    @property
    def episode_steps(self) -> np.ndarray:
        """(B,) steps taken so far in each environment's running episode."""
        return self._lengths.copy()

    def step(self, actions: np.ndarray) -> EnvStep:
        """Step every environment with its action; episodes that end are reset at once."""
        obs, reward, terminated, truncated, info = self.vector_env.step(np.asarray(actions, np.int64))
        reward = np.asarray(reward, np.float64)
        terminated = np.asarray(terminated, bool)
        # A step that both terminates and hits the time limit is a true end, not a truncation.
        truncated = np.asarray(truncated, bool) & ~terminated
        done = terminated | truncated
        self._returns += reward
        self._lengths += 1
        final_observation = np.zeros((self.num_envs, self.observation_size), self.dtype)
        episode_return = np.zeros(self.num_envs)
        episode_length = np.zeros(self.num_envs, np.int64)
        if done.any():
            final = info["final_obs"]
            for i in np.flatnonzero(done):
                final_observation[i] = np.asarray(final[i], self.dtype)
            episode_return[done], episode_length[done] = self._returns[done], self._lengths[done]
            self._returns[done], self._lengths[done] = 0.0, 0
        self.observation = np.asarray(obs, self.dtype).reshape(self.num_envs, self.observation_size)
        self.legal_actions = legal_actions_from_info(info, self.num_envs, self.num_actions)
        return EnvStep(
            self.observation.copy(),
            reward,
            terminated,
            truncated,
            final_observation,
            episode_return,
            episode_length,
            chance_labels_from_info(info, done),
        )

    def close(self) -> None:
        self.vector_env.close()
