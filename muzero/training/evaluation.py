"""Evaluation: whole episodes with no root noise, taking the most-visited action.

All episodes run side by side, one batched search per step over those still running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from muzero.config import SearchConfig
from muzero.envs.batch import make_env
from muzero.search.mcts import Model, run_mcts, select_actions


class EvalResult(NamedTuple):
    returns: np.ndarray  # (episodes,) undiscounted returns
    lengths: np.ndarray  # (episodes,) steps

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    def summary(self) -> dict[str, float | int]:
        r = self.returns
        return {
            "episodes": len(r),
            "mean": float(r.mean()),
            "std": float(r.std()),
            "min": float(r.min()),
            "max": float(r.max()),
        }


def evaluate(
    model: Model,
    env_id: str,
    episodes: int,
    seed: int,
    search: SearchConfig,
    max_episode_steps: int | None = None,
    max_parallel: int = 100,
    on_step: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Mean of ``episodes`` greedy episodes, seeded seed, seed+1, ...; ``on_step(done, total)`` reports progress."""
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, np.int64)
    for first in range(0, episodes, max_parallel):
        ids = np.arange(first, min(first + max_parallel, episodes))
        _run_episodes(model, env_id, ids, seed, search, max_episode_steps, returns, lengths, on_step, episodes)
    return EvalResult(returns, lengths)


def _run_episodes(
    model: Model,
    env_id: str,
    ids: np.ndarray,
    seed: int,
    search: SearchConfig,
    max_episode_steps: int | None,
    returns: np.ndarray,
    lengths: np.ndarray,
    on_step: Callable[[int, int], None] | None,
    total: int,
) -> None:
    envs = [make_env(env_id, max_episode_steps) for _ in ids]
    num_actions = int(envs[0].action_space.n)
    observation = np.zeros((len(ids), envs[0].observation_space.shape[0]), np.float32)
    legal = np.ones((len(ids), num_actions), bool)
    for i, env in enumerate(envs):
        obs, info = env.reset(seed=seed + int(ids[i]))
        observation[i] = obs
        legal[i] = info.get("action_mask", legal[i])
    running = np.ones(len(ids), bool)
    while running.any():
        active = np.flatnonzero(running)
        result = run_mcts(model, observation[active], search, rng=None, legal_actions=legal[active])
        actions = select_actions(result.visit_counts, 0.0, None)
        for i, action in zip(active, actions, strict=True):
            obs, reward, terminated, truncated, info = envs[i].step(int(action))
            returns[ids[i]] += reward
            lengths[ids[i]] += 1
            observation[i] = obs
            legal[i] = info.get("action_mask", np.ones(num_actions, bool))
            if terminated or truncated:
                running[i] = False
        if on_step is not None:
            on_step(int((~running).sum()) + int(ids[0]), total)
    for env in envs:
        env.close()
