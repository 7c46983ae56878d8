"""Exact dynamic programming over a toy-text environment's transition table (``env.unwrapped.P``).

Taxi, FrozenLake and CliffWalking publish their dynamics as ``P[s][a] = [(p, s', r, done), ...]``;
value iteration over it gives the optimal values the benchmarks compare trained agents against.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def transition_table(env_id: str, **kwargs: Any) -> dict:
    return gym.make(env_id, **kwargs).unwrapped.P


def backup(table: dict, values: np.ndarray, discount: float) -> np.ndarray:
    """(S, A) one-step lookahead: Q(s, a) = sum_s' p (r + discount V(s') [not done])."""

    def q(outcomes: list) -> float:
        return sum(p * (r + (0.0 if done else discount * values[s2])) for p, s2, r, done in outcomes)

    return np.array([[q(table[s][a]) for a in table[s]] for s in range(len(table))])


def optimal_values(table: dict, discount: float = 1.0, iterations: int = 2_000) -> tuple[np.ndarray, np.ndarray]:
    """(V*, Q*) by value iteration (to convergence, or ``iterations`` sweeps)."""
    values = np.zeros(len(table))
    for _ in range(iterations):
        q = backup(table, values, discount)
        new = q.max(axis=1)
        if np.allclose(new, values, rtol=0.0, atol=1e-12):
            break
        values = new
    return values, backup(table, values, discount)


def policy_values(table: dict, policy: np.ndarray, discount: float, iterations: int = 5_000) -> np.ndarray:
    """(S,) the values of a deterministic policy (one action per state), by iterative evaluation."""
    values = np.zeros(len(table))
    states = np.arange(len(table))
    for _ in range(iterations):
        new = backup(table, values, discount)[states, policy]
        if np.allclose(new, values, rtol=0.0, atol=1e-12):
            break
        values = new
    return values
