"""What the search and its model say to each other, and what a search returns.

The search sees a model only through two functions with typed outputs, as in mctx:

    initial_inference(observation)          -> RootOutput
    recurrent_inference(embedding, action)  -> RecurrentOutput (with a per-transition discount)

A model of an environment with chance (Stochastic MuZero, Antonoglou et al. 2022; a
``StochasticModel``) splits the second into a deterministic afterstate and a chance outcome:

    afterstate_inference(embedding, action)    -> AfterstateOutput (Q of the afterstate, sigma over codes)
    chance_inference(afterstate, code)         -> RecurrentOutput

The loop (``muzero.search.loop``), its selection policies (``puct``, ``gumbel``) and the reference
search all import these types from here, and this module imports nothing of the search: no module
of ``muzero.search`` needs another in a circle.

Letters: B batch, A actions, C chance codes, L embedding size (states and afterstates alike).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np


class RootOutput(NamedTuple):
    prior_logits: np.ndarray  # (B, A)
    value: np.ndarray  # (B,)
    embedding: np.ndarray  # (B, L)


class RecurrentOutput(NamedTuple):
    reward: np.ndarray  # (B,)
    discount: np.ndarray  # (B,) 0 at a known terminal, gamma otherwise
    prior_logits: np.ndarray  # (B, A)
    value: np.ndarray  # (B,)
    embedding: np.ndarray  # (B, L)


class AfterstateOutput(NamedTuple):
    """What an action leads to before chance acts: the afterstate, its value, the distribution of outcomes."""

    chance_logits: np.ndarray  # (B, C) logits of sigma(c | afterstate)
    value: np.ndarray  # (B,) Q(afterstate): the value of taking the action, to the player who took it
    embedding: np.ndarray  # (B, L) the afterstate


class Model(Protocol):
    """What the search needs of a model: numpy in, typed numpy out."""

    def initial_inference(self, observation: np.ndarray) -> RootOutput: ...

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput: ...


@runtime_checkable
class StochasticModel(Protocol):
    """A model whose transitions pass through chance: state -(action)-> afterstate -(code)-> state.

    The edge into an afterstate carries no reward and discount 1; the chance edge out of it carries the
    transition's reward and discount. ``num_chance_codes`` is C.
    """

    num_chance_codes: int

    def initial_inference(self, observation: np.ndarray) -> RootOutput: ...

    def afterstate_inference(self, embedding: np.ndarray, action: np.ndarray) -> AfterstateOutput: ...

    def chance_inference(self, afterstate: np.ndarray, code: np.ndarray) -> RecurrentOutput: ...


class SearchOutput(NamedTuple):
    """A search's result for B roots. Every policy chooses an action: the caller acts on ``action``."""

    visit_counts: np.ndarray  # (B, A) int: root visits per action
    root_value: np.ndarray  # (B,) mean value at the root after search
    root_prior: np.ndarray  # (B, A) prior used at the root (with noise, if any)
    q_values: np.ndarray  # (B, A) Q(root, a); the root value where a is unvisited
    network_value: np.ndarray  # (B,) the network's value of the root observation
    policy: np.ndarray  # (B, A) the policy target: visit distribution (muzero) or improved policy (gumbel)
    action: np.ndarray  # (B,) int64: the action to take (muzero: drawn at the search's temperature)
    greedy_action: np.ndarray  # (B,) int64: the action at temperature 0 (gumbel: the same as ``action``)
