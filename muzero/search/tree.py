"""Preallocated search trees for a batch and the compiled kernels that walk them.

The tree for B searches of N - 1 simulations lives in fixed arrays, batch first, in the
layout of DeepMind's mctx: node i of every tree is created by simulation i (node 0 is the
root). Walking trees is inherently sequential per tree, so the two per-simulation kernels
(``select_leaves`` and ``expand_and_backup``) are compiled with Numba and loop over the
batch in machine code; everything else is NumPy.

Letters: B batch (trees), N nodes per tree (simulations + 1), A actions, L embedding size.
Selection rule (pUCT, Schrittwieser et al. 2020, appendix B):

    score(s, a) = Qn(s, a) + P(s, a) * sqrt(N(s)) / (1 + N(s, a)) * (c1 + log((N(s) + c2 + 1) / c2))

with N(s) counting the node's own expansion as one visit, Qn the Q value min-max normalised
by the smallest and largest Q seen in that tree so far (the range floored at ``q_floor``), and
an unvisited child's Q taken as the parent's current mean value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

UNEXPANDED = -1


@dataclass
class Tree:
    """Search state for B trees. Arrays are allocated once per search and filled in place."""

    node_visits: np.ndarray  # (B, N) int32: visits, the node's own expansion included
    node_value_sum: np.ndarray  # (B, N) float64: sum of the values backed up through the node
    node_reward: np.ndarray  # (B, N) float64: predicted reward of the transition into the node
    node_discount: np.ndarray  # (B, N) float64: discount of the transition into the node
    parents: np.ndarray  # (B, N) int32: parent node, -1 at the root
    children_index: np.ndarray  # (B, N, A) int32: child node per action, UNEXPANDED if none
    children_prior: np.ndarray  # (B, N, A) float64: prior probability of each action
    q_bounds: np.ndarray  # (B, 2) float64: smallest and largest Q seen in each tree
    root_legal: np.ndarray  # (B, A) bool: actions the root may take
    embeddings: np.ndarray  # (B, N, L) float32: model state of each node

    @classmethod
    def allocate(
        cls, batch: int, num_nodes: int, num_actions: int, embedding_size: int, embedding_dtype: np.dtype = np.float32
    ) -> Tree:
        bounds = np.empty((batch, 2))
        bounds[:, 0], bounds[:, 1] = np.inf, -np.inf
        return cls(
            node_visits=np.zeros((batch, num_nodes), np.int32),
            node_value_sum=np.zeros((batch, num_nodes)),
            node_reward=np.zeros((batch, num_nodes)),
            node_discount=np.zeros((batch, num_nodes)),
            parents=np.full((batch, num_nodes), -1, np.int32),
            children_index=np.full((batch, num_nodes, num_actions), UNEXPANDED, np.int32),
            children_prior=np.zeros((batch, num_nodes, num_actions)),
            q_bounds=bounds,
            root_legal=np.ones((batch, num_actions), bool),
            embeddings=np.zeros((batch, num_nodes, embedding_size), embedding_dtype),
        )

    def root_visit_counts(self) -> np.ndarray:
        """(B, A) visits of each root child."""
        child = self.children_index[:, 0]  # (B, A)
        batch = np.arange(child.shape[0])[:, None]
        return np.where(child >= 0, self.node_visits[batch, np.maximum(child, 0)], 0)

    def root_value(self) -> np.ndarray:
        """(B,) mean value of the root over its expansion and all simulations."""
        return self.node_value_sum[:, 0] / self.node_visits[:, 0]

    def root_q_values(self) -> np.ndarray:
        """(B, A) Q(root, a) = r + discount * v(child); the root's value where a child is unvisited."""
        child = self.children_index[:, 0]
        batch = np.arange(child.shape[0])[:, None]
        safe = np.maximum(child, 0)
        q = self.node_reward[batch, safe] + self.node_discount[batch, safe] * (
            self.node_value_sum[batch, safe] / np.maximum(self.node_visits[batch, safe], 1)
        )
        return np.where(child >= 0, q, self.root_value()[:, None])


@njit(cache=True, inline="always")
def normalized_q(q: float, q_min: float, q_max: float, q_floor: float) -> float:
    if q_max < q_min:  # nothing backed up yet: every action looks the same
        return 0.0
    value = (q - q_min) / max(q_max - q_min, q_floor)
    return min(max(value, 0.0), 1.0)


@njit(cache=True, inline="always")
def child_stats(children_index, node_visits, node_value_sum, node_reward, node_discount, b, node, a, parent_value):
    """(visits, Q) of action a at a node; an unvisited child's Q is the parent's mean value."""
    child = children_index[b, node, a]
    if child == UNEXPANDED:
        return 0, parent_value
    visits = node_visits[b, child]
    return visits, node_reward[b, child] + node_discount[b, child] * (node_value_sum[b, child] / visits)


@njit(cache=True)
def select_action(
    children_index,
    children_prior,
    node_visits,
    node_value_sum,
    node_reward,
    node_discount,
    q_min,
    q_max,
    legal,
    b,
    node,
    c1,
    c2,
    q_floor,
    per_node,
):
    """pUCT choice at one node of tree b; ties go to the lowest action index.

    With ``per_node`` the Q values are normalised by the node's own range (its value and its
    children's Q, as in mctx) instead of the tree-wide (q_min, q_max).
    """
    parent_visits = node_visits[b, node]
    parent_value = node_value_sum[b, node] / parent_visits
    exploration = (c1 + math.log((parent_visits + c2 + 1.0) / c2)) * math.sqrt(parent_visits)
    num_actions = children_index.shape[2]
    if per_node:
        q_min = parent_value
        q_max = parent_value
        for a in range(num_actions):
            if legal[a]:
                _, q = child_stats(
                    children_index, node_visits, node_value_sum, node_reward, node_discount, b, node, a, parent_value
                )
                q_min = min(q_min, q)
                q_max = max(q_max, q)
    best_action = -1
    best_score = -np.inf
    for a in range(num_actions):
        if not legal[a]:
            continue
        visits, q = child_stats(
            children_index, node_visits, node_value_sum, node_reward, node_discount, b, node, a, parent_value
        )
        score = normalized_q(q, q_min, q_max, q_floor) + exploration * children_prior[b, node, a] / (1 + visits)
        if score > best_score or best_action < 0:  # a NaN score (diverged model) still yields an action
            best_score = score
            best_action = a
    return best_action


@njit(cache=True)
def select_leaves(
    children_index,
    children_prior,
    node_visits,
    node_value_sum,
    node_reward,
    node_discount,
    q_bounds,
    root_legal,
    c1,
    c2,
    q_floor,
    per_node,
    out_parent,
    out_action,
):
    """Walk each tree from its root by pUCT until an unexpanded edge; write its (parent, action)."""
    num_actions = children_index.shape[2]
    all_legal = np.ones(num_actions, np.bool_)
    for b in range(children_index.shape[0]):
        node = 0
        legal = root_legal[b]
        while True:
            action = select_action(
                children_index,
                children_prior,
                node_visits,
                node_value_sum,
                node_reward,
                node_discount,
                q_bounds[b, 0],
                q_bounds[b, 1],
                legal,
                b,
                node,
                c1,
                c2,
                q_floor,
                per_node,
            )
            child = children_index[b, node, action]
            if child == UNEXPANDED:
                out_parent[b] = node
                out_action[b] = action
                break
            node = child
            legal = all_legal


@njit(cache=True)
def expand_and_backup(
    new_node,
    parent,
    action,
    reward,
    discount,
    prior_logits,
    value,
    children_index,
    children_prior,
    node_visits,
    node_value_sum,
    node_reward,
    node_discount,
    parents,
    q_bounds,
):
    """Attach node ``new_node`` below (parent, action) in each tree, then back its value up to the root.

    Along the path the return is accumulated as G <- r + discount * G, each ancestor's value sum
    grows by G and its visit count by one, and every Q = r + discount * v(child) on the path
    updates the tree's min-max bounds.
    """
    num_actions = prior_logits.shape[1]
    for b in range(parent.shape[0]):
        p = parent[b]
        children_index[b, p, action[b]] = new_node
        parents[b, new_node] = p
        node_reward[b, new_node] = reward[b]
        node_discount[b, new_node] = discount[b]
        # Softmax of the prior logits, shifted by the max for stability.
        top = prior_logits[b, 0]
        for a in range(1, num_actions):
            top = max(top, prior_logits[b, a])
        total = 0.0
        for a in range(num_actions):
            e = math.exp(prior_logits[b, a] - top)
            children_prior[b, new_node, a] = e
            total += e
        for a in range(num_actions):
            children_prior[b, new_node, a] /= total

        node = new_node
        ret = value[b]
        node_visits[b, node] = 1
        node_value_sum[b, node] = ret
        while parents[b, node] >= 0:
            q = node_reward[b, node] + node_discount[b, node] * (node_value_sum[b, node] / node_visits[b, node])
            q_bounds[b, 0] = min(q_bounds[b, 0], q)
            q_bounds[b, 1] = max(q_bounds[b, 1], q)
            ret = node_reward[b, node] + node_discount[b, node] * ret
            node = parents[b, node]
            node_visits[b, node] += 1
            node_value_sum[b, node] += ret
