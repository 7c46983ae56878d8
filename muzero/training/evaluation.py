"""Evaluation: whole episodes with no root noise, taking the most-visited action.

All episodes run side by side, one batched search per step over those still running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from muzero.config import SearchConfig
from muzero.envs.make import EnvSource, legal_mask
from muzero.search.mcts import Model, choose_actions, run_mcts


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
    source: EnvSource | str,
    episodes: int,
    seed: int,
    search: SearchConfig,
    max_parallel: int = 100,
    on_step: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Mean of ``episodes`` greedy episodes, seeded seed, seed+1, ...; ``on_step(done, total)`` reports progress.

    Where the environment publishes ``info["action_mask"]``, the search's root (and so the action
    taken) is restricted to the legal actions.
    """
    if isinstance(source, str):
        source = EnvSource(source)
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, np.int64)
    for first in range(0, episodes, max_parallel):
        ids = np.arange(first, min(first + max_parallel, episodes))
        _run_episodes(model, source, ids, seed, search, returns, lengths, on_step, episodes)
    return EvalResult(returns, lengths)


def _run_episodes(
    model: Model,
    source: EnvSource,
    ids: np.ndarray,
    seed: int,
    search: SearchConfig,
    returns: np.ndarray,
    lengths: np.ndarray,
    on_step: Callable[[int, int], None] | None,
    total: int,
) -> None:
    envs = [source.make() for _ in ids]
    num_actions = int(envs[0].action_space.n)
    observation = np.zeros((len(ids), envs[0].observation_space.shape[0]), np.float32)
    legal = np.ones((len(ids), num_actions), bool)
    for i, env in enumerate(envs):
        obs, info = env.reset(seed=seed + int(ids[i]))
        observation[i] = obs
        legal[i] = legal_mask(info.get("action_mask"), num_actions)
    running = np.ones(len(ids), bool)
    while running.any():
        active = np.flatnonzero(running)
        result = run_mcts(model, observation[active], search, rng=None, legal_actions=legal[active])
        actions = choose_actions(result, 0.0, None)
        for i, action in zip(active, actions, strict=True):
            obs, reward, terminated, truncated, info = envs[i].step(int(action))
            returns[ids[i]] += reward
            lengths[ids[i]] += 1
            observation[i] = obs
            legal[i] = legal_mask(info.get("action_mask"), num_actions)
            if terminated or truncated:
                running[i] = False
        if on_step is not None:
            on_step(int((~running).sum()) + int(ids[0]), total)
    for env in envs:
        env.close()
