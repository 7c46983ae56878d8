"""What the search and its model say to each other, and what a search returns.

The search sees a model only through two functions with typed outputs, as in mctx:

    initial_inference(observation)          -> RootOutput
    recurrent_inference(embedding, action)  -> RecurrentOutput (with a per-transition discount)

The loop (``muzero.search.loop``), its selection policies (``puct``, ``gumbel``) and the reference
search all import these types from here, and this module imports nothing of the search: no module
of ``muzero.search`` needs another in a circle.

Letters: B batch, A actions, L embedding size.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

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


class Model(Protocol):
    """What the search needs of a model: numpy in, typed numpy out."""

    def initial_inference(self, observation: np.ndarray) -> RootOutput: ...

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput: ...


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
