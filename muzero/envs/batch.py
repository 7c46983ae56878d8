"""Gymnasium environments, many copies stepping together.

``BatchEnv`` steps B copies of one environment, resets each as its episode ends, and keeps
truncation (a time limit) apart from termination (a true end): on either, the observation the
episode ended on comes back in ``final_observation`` so that a truncated episode can be
bootstrapped from its value. Environments that publish ``info["action_mask"]`` get their legal
actions passed to the search's root.

Letters: B environments, D observation size, A actions.
"""

from __future__ import annotations

from typing import NamedTuple

import gymnasium as gym
import numpy as np

from muzero.errors import EnvironmentNotSupported


class EnvSpec(NamedTuple):
    observation_size: int
    num_actions: int
    reward_threshold: float | None
    max_episode_steps: int | None


class EnvStep(NamedTuple):
    observation: np.ndarray  # (B, D) next observation; the first of a new episode where one ended
    reward: np.ndarray  # (B,) float64
    terminated: np.ndarray  # (B,) bool: the episode reached a true end
    truncated: np.ndarray  # (B,) bool: the episode was cut by a time limit (not terminated)
    final_observation: np.ndarray  # (B, D) the observation each episode ended on (only meaningful where done)
    episode_return: np.ndarray  # (B,) undiscounted return of the episodes that ended (0 elsewhere)
    episode_length: np.ndarray  # (B,) length of the episodes that ended (0 elsewhere)

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated


def make_env(env_id: str, max_episode_steps: int | None = None, render_mode: str | None = None) -> gym.Env:
    """A Gymnasium environment, checked to have discrete actions and flat vector observations."""
    kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as error:
        close = _similar_ids(env_id)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise EnvironmentNotSupported(f"unknown environment {env_id!r} ({error}).{hint}") from None
    except ImportError as error:
        raise EnvironmentNotSupported(
            f"environment {env_id!r} needs a package that is not installed: {error}"
        ) from None
    check_spaces(env_id, env)
    return env


def check_spaces(env_id: str, env: gym.Env) -> None:
    supported = "muzero supports Discrete action spaces with flat Box (vector) observations"
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise EnvironmentNotSupported(f"{env_id} has action space {env.action_space}; {supported}.")
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        env.close()
        raise EnvironmentNotSupported(f"{env_id} has observation space {space}; {supported}.")


def env_spec(env_id: str, max_episode_steps: int | None = None) -> EnvSpec:
    env = make_env(env_id, max_episode_steps)
    spec = EnvSpec(
        observation_size=int(env.observation_space.shape[0]),
        num_actions=int(env.action_space.n),
        reward_threshold=env.spec.reward_threshold if env.spec else None,
        max_episode_steps=env.spec.max_episode_steps if env.spec else None,
    )
    env.close()
    return spec


def _similar_ids(env_id: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)


class BatchEnv:
    """B copies of an environment that reset themselves; seeded once, reproducible thereafter."""

    def __init__(self, env_id: str, num_envs: int, seed: int, max_episode_steps: int | None = None) -> None:
        self.envs = [make_env(env_id, max_episode_steps) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.num_actions = int(self.envs[0].action_space.n)
        self.observation_size = int(self.envs[0].observation_space.shape[0])
        self.observation = np.zeros((num_envs, self.observation_size), np.float32)
        self.legal_actions: np.ndarray | None = None  # (B, A) bool, if the environment publishes masks
        self._returns = np.zeros(num_envs)
        self._lengths = np.zeros(num_envs, np.int64)
        for i, env in enumerate(self.envs):
            env.action_space.seed(seed + i)
            obs, info = env.reset(seed=seed + i)
            self._record(i, obs, info)

    def _record(self, i: int, observation: np.ndarray, info: dict) -> None:
        self.observation[i] = observation
        mask = info.get("action_mask")
        if mask is not None:
            if self.legal_actions is None:
                self.legal_actions = np.ones((self.num_envs, self.num_actions), bool)
            self.legal_actions[i] = np.asarray(mask, bool)

    def step(self, actions: np.ndarray) -> EnvStep:
        """Step every environment with its action; episodes that end are reset at once."""
        batch = self.num_envs
        reward = np.zeros(batch)
        terminated = np.zeros(batch, bool)
        truncated = np.zeros(batch, bool)
        final_observation = np.zeros_like(self.observation)
        episode_return = np.zeros(batch)
        episode_length = np.zeros(batch, np.int64)
        for i, env in enumerate(self.envs):
            obs, r, term, trunc, info = env.step(int(actions[i]))
            reward[i] = r
            self._returns[i] += r
            self._lengths[i] += 1
            if term or trunc:
                # A step that both terminates and hits the time limit is a true end, not a truncation.
                terminated[i], truncated[i] = bool(term), not term
                final_observation[i] = obs
                episode_return[i], episode_length[i] = self._returns[i], self._lengths[i]
                self._returns[i], self._lengths[i] = 0.0, 0
                obs, info = env.reset()
            self._record(i, obs, info)
        return EnvStep(
            self.observation.copy(), reward, terminated, truncated, final_observation, episode_return, episode_length
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()
