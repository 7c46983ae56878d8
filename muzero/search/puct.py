"""MuZero's search policy: pUCT at every node, Dirichlet noise in the root prior, acting from the visits.

Selection rule (pUCT, Schrittwieser et al. 2020, appendix B):

    score(s, a) = Qn(s, a) + P(s, a) * sqrt(N(s)) / (1 + N(s, a)) * (c1 + log((N(s) + c2 + 1) / c2))

with N(s) counting the node's own expansion as one visit, Qn the Q value min-max normalised
by the smallest and largest Q seen in that tree so far (``q_normalization = "node"``: by the
node's own value and its children's Q, as in mctx; the range floored at ``q_floor``), and an
unvisited child's Q taken as the parent's current mean value. The action taken is drawn from
the root's visit counts raised to 1/T, or at T = 0 the most visited (``most_visited``).

Letters: B batch (trees), N nodes per tree, A actions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from muzero.config import SearchConfig
from muzero.search.loop import masked_softmax
from muzero.search.protocol import RootOutput, SearchOutput
from muzero.search.tree import UNEXPANDED, Tree, descend, select_outcome


class PuctPlan(NamedTuple):
    prior: np.ndarray  # (B, A) the root prior, with the noise mixed in where there is any


@dataclass(frozen=True)
class MuZeroPolicy:
    """MuZero's search as a ``SearchPolicy`` of ``muzero.search.loop``.

    ``rng`` draws the root's Dirichlet noise and then, at a positive ``temperature``, the action from
    the visit counts (in that order); None: no noise and the most visited action, as in evaluation.
    """

    config: SearchConfig
    rng: np.random.Generator | None = None
    temperature: float = 0.0

    def prepare(self, root: RootOutput, tree: Tree) -> PuctPlan:
        prior = masked_softmax(root.prior_logits, tree.root_legal)
        fraction = self.config.exploration_fraction
        if self.rng is not None and fraction > 0:
            noise = dirichlet_noise(self.rng, tree.root_legal, self.config.dirichlet_alpha)
            prior = (1.0 - fraction) * prior + fraction * noise
        tree.children_prior[:, 0, : tree.num_actions] = prior
        return PuctPlan(prior)

    def select(
        self, tree: Tree, plan: PuctPlan, simulation: int, out_parent: np.ndarray, out_action: np.ndarray
    ) -> None:
        config = self.config
        per_node = config.q_normalization == "node"
        select_leaves(
            tuple(tree), config.pb_c_init, config.pb_c_base, config.q_range_floor, per_node, out_parent, out_action
        )

    def finish(self, root: RootOutput, tree: Tree, plan: PuctPlan) -> SearchOutput:
        visit_counts = tree.root_visit_counts()
        q_values = tree.root_q_values()
        greedy = most_visited(visit_counts, q_values)
        drawn = self.rng is not None and self.temperature != 0
        return SearchOutput(
            visit_counts=visit_counts,
            root_value=tree.root_value(),
            root_prior=plan.prior,
            q_values=q_values,
            network_value=np.asarray(root.value, np.float64),
            policy=visit_policy(visit_counts),
            action=select_actions(visit_counts, self.temperature, self.rng) if drawn else greedy,
            greedy_action=greedy,
        )


def dirichlet_noise(rng: np.random.Generator, legal: np.ndarray, alpha: float) -> np.ndarray:
    """(B, A) Dirichlet(alpha) samples over each row's legal actions (normalised Gamma draws)."""
    draws = rng.gamma(alpha, 1.0, size=legal.shape) * legal
    total = draws.sum(axis=1, keepdims=True)
    # Gamma draws underflow to 0 for tiny alpha; fall back to uniform over the legal actions.
    uniform = legal / legal.sum(axis=1, keepdims=True)
    return np.where(total > 0, draws / np.where(total > 0, total, 1.0), uniform)


def most_visited(visit_counts: np.ndarray, q_values: np.ndarray) -> np.ndarray:
    """(B,) the most visited action; equal counts go to the higher Q(root, a), then to the lower index.

    Equal counts happen where the actions' values are close and pUCT spreads the simulations evenly
    (2% of a trained Acrobot agent's greedy steps); taking the lowest index there repeats action 0
    wherever the model is unsure. mctx breaks such ties with noise; the search's own Q is the better
    tie-breaker.
    """
    top = visit_counts == visit_counts.max(axis=1, keepdims=True)
    return np.where(top, q_values, -np.inf).argmax(axis=1)


def select_actions(
    visit_counts: np.ndarray,
    temperature: float,
    rng: np.random.Generator | None,
    q_values: np.ndarray | None = None,
) -> np.ndarray:
    """(B,) actions: the most visited (temperature 0 or no rng; ties by ``q_values`` if given, see
    ``most_visited``), else sampled from counts^(1/T)."""
    if temperature == 0 or rng is None:
        return most_visited(visit_counts, np.zeros(visit_counts.shape) if q_values is None else q_values)
    counts = visit_counts.astype(np.float64)
    # counts^(1/T), computed in log space relative to the largest count so small T cannot overflow.
    with np.errstate(divide="ignore"):
        logs = np.log(counts) / temperature
    weights = np.exp(logs - logs.max(axis=1, keepdims=True))
    cumulative = np.cumsum(weights, axis=1)
    draws = rng.random(len(counts))[:, None] * cumulative[:, -1:]
    return np.minimum((cumulative <= draws).sum(axis=1), counts.shape[1] - 1)


def visit_policy(visit_counts: np.ndarray) -> np.ndarray:
    """(B, A) the search's policy target: visit counts normalised to sum to 1."""
    counts = visit_counts.astype(np.float32)
    return counts / counts.sum(axis=1, keepdims=True)


@njit(cache=True, inline="always")
def normalized_q(q: float, q_min: float, q_max: float, q_floor: float) -> float:
    if q_max < q_min:  # nothing backed up yet: every action looks the same
        return 0.0
    value = (q - q_min) / max(q_max - q_min, q_floor)
    return min(max(value, 0.0), 1.0)


@njit(cache=True, inline="always")
def child_stats(tree, b, node, a, parent_value):
    """(visits, Q) of action a at a node; an unvisited child's Q is the parent's mean value."""
    child = tree.children_index[b, node, a]
    if child == UNEXPANDED:
        return 0, parent_value
    visits = tree.node_visits[b, child]
    return visits, tree.node_reward[b, child] + tree.node_discount[b, child] * (tree.node_value_sum[b, child] / visits)


@njit(cache=True)
def node_q_range(tree, legal, b, node):
    """(smallest, largest) of a node's value and its legal children's Q: the per-node normalisation, as in mctx."""
    parent_value = tree.node_value_sum[b, node] / tree.node_visits[b, node]
    q_min = parent_value
    q_max = parent_value
    for a in range(tree.root_legal.shape[1]):
        if legal[a]:
            _, q = child_stats(tree, b, node, a, parent_value)
            q_min = min(q_min, q)
            q_max = max(q_max, q)
    return q_min, q_max


@njit(cache=True)
def select_action(tree, q_min, q_max, legal, b, node, c1, c2, q_floor):
    """pUCT choice at one node of tree b, Q normalised by (q_min, q_max); ties go to the lowest action index."""
    parent_visits = tree.node_visits[b, node]
    parent_value = tree.node_value_sum[b, node] / parent_visits
    exploration = (c1 + math.log((parent_visits + c2 + 1.0) / c2)) * math.sqrt(parent_visits)
    best_action = -1
    best_score = -np.inf
    for a in range(tree.root_legal.shape[1]):
        if not legal[a]:
            continue
        visits, q = child_stats(tree, b, node, a, parent_value)
        score = normalized_q(q, q_min, q_max, q_floor) + exploration * tree.children_prior[b, node, a] / (1 + visits)
        if score > best_score or best_action < 0:  # a NaN score (diverged model) still yields an action
            best_score = score
            best_action = a
    return best_action


@njit(cache=True)
def select_leaves(arrays, c1, c2, q_floor, per_node, out_parent, out_action):
    """Walk each tree (``arrays`` is ``tuple(tree)``) from its root by pUCT until an unexpanded edge; write its
    (parent, action) into the (B,) outputs. Q is normalised by the tree-wide bounds, or with ``per_node`` by
    each node's own range.

    At a chance node the outcome is chosen by ``tree.select_outcome`` instead.

    ``select_action`` and ``node_q_range`` are left for LLVM to inline: inlined by Numba instead
    (``inline="always"``), they made this kernel take more than twice as long.
    """
    tree = Tree(*arrays)
    num_actions = tree.root_legal.shape[1]
    all_legal = np.ones(num_actions, np.bool_)
    for b in range(tree.children_index.shape[0]):
        node = 0
        legal = tree.root_legal[b]
        while True:
            if tree.node_is_chance[b, node]:
                action = select_outcome(tree, b, node)
            else:
                if per_node:
                    q_min, q_max = node_q_range(tree, legal, b, node)
                else:
                    q_min, q_max = tree.q_bounds[b, 0], tree.q_bounds[b, 1]
                action = select_action(tree, q_min, q_max, legal, b, node, c1, c2, q_floor)
            node = descend(tree, b, node, action, out_parent, out_action)
            if node == UNEXPANDED:
                break
            legal = all_legal
