"""The search's front door: the policy the config names, run by the one loop.

``run_mcts`` is what self-play, Reanalyse and evaluation call. ``search.algorithm`` picks the
policy, ``muzero.search.puct.MuZeroPolicy`` or ``muzero.search.gumbel.GumbelPolicy``, and
``muzero.search.loop.search`` runs it; either way the output carries the action to take.

Letters: B batch, A actions, D observation size.
"""

from __future__ import annotations

import numpy as np

from muzero.config import SearchConfig
from muzero.search.gumbel import GumbelPolicy
from muzero.search.loop import SearchPolicy, search
from muzero.search.protocol import Model, SearchOutput
from muzero.search.puct import MuZeroPolicy
from muzero.search.tree import Tree


def make_policy(config: SearchConfig, rng: np.random.Generator | None, temperature: float = 0.0) -> SearchPolicy:
    """The policy of ``config.algorithm``. ``rng`` draws its root noise (and MuZero's action at a positive
    ``temperature``); None: no noise and the greedy action, as in evaluation. Gumbel has no temperature."""
    if config.algorithm == "gumbel":
        return GumbelPolicy(config, rng)
    return MuZeroPolicy(config, rng, temperature)


def run_mcts(
    model: Model,
    observation: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator | None,
    num_simulations: int | None = None,
    legal_actions: np.ndarray | None = None,
    temperature: float = 0.0,
) -> SearchOutput:
    """Search B observations (B, D) at once; ``action`` in the output is the one to take.

    ``rng`` supplies the root's noise and, for MuZero at a positive ``temperature``, the draw of the
    action from counts^(1/T) (after the noise); pass None for a noise-free, greedy search (evaluation).
    ``legal_actions`` (B, A) bool restricts the root's actions; the learned model has no notion of
    legality below the root, so deeper nodes consider every action.
    """
    return search_with_tree(model, observation, config, rng, num_simulations, legal_actions, temperature)[0]


def search_with_tree(
    model: Model,
    observation: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator | None,
    num_simulations: int | None = None,
    legal_actions: np.ndarray | None = None,
    temperature: float = 0.0,
) -> tuple[SearchOutput, Tree]:
    """``run_mcts``, also returning the searched trees (for drawing one: ``muzero tree``)."""
    simulations = config.num_simulations if num_simulations is None else num_simulations
    return search(model, observation, make_policy(config, rng, temperature), simulations, legal_actions)


def greedy_actions(
    model: Model, observation: np.ndarray, config: SearchConfig, legal_actions: np.ndarray | None = None
) -> np.ndarray:
    """(B,) the actions evaluation takes: a noise-free search's choice (most visited, or Gumbel's), with
    ``config.greedy_simulations`` simulations (None: ``num_simulations``)."""
    return run_mcts(model, observation, config, None, config.greedy_simulations, legal_actions).action
