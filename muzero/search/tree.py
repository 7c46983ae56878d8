"""Preallocated search trees for a batch, and the compiled backup every search shares.

The tree for B searches of N - 1 simulations lives in fixed arrays, batch first, in the
layout of DeepMind's mctx: node i of every tree is created by simulation i (node 0 is the
root). Walking trees is inherently sequential per tree, so the per-simulation kernels (this
module's ``expand_and_backup``, and each selection policy's own) are compiled with Numba and
loop over the batch in machine code; everything else is NumPy.

The kernels see the tree as one ``Tree``. They are called with ``tuple(tree)`` and name it again
inside (``Tree(*arrays)``, free once compiled): Numba types a plain tuple of arrays in C, while a
named tuple's type is read from its class and field names on every call, about 1.5 microseconds
a call, 3% of a one-tree search of 50 simulations.

With a model of chance (``muzero.search.protocol.StochasticModel``) a tree holds two kinds of node, as
in mctx's Stochastic MuZero: decision nodes (states, where an action is chosen) and chance nodes
(afterstates, where the environment draws an outcome). Every node has W = A + C child slots: a
decision node's actions use slots 0..A-1, a chance node's codes slots A..A+C-1 (C = 0 without chance).
A chance node's children are chosen by ``select_outcome``; an edge into a chance node has reward 0
and discount 1, and every backup is the same visit-weighted mean, which, because outcomes are visited
in proportion to sigma, estimates the expectation over outcomes.

Letters: B batch (trees), N nodes per tree (simulations + 1), A actions, C chance codes, W = A + C child
slots, L embedding size.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

UNEXPANDED = -1


class Tree(NamedTuple):
    """Search state for B trees. Arrays are allocated once per search and filled in place."""

    node_visits: np.ndarray  # (B, N) int32: visits, the node's own expansion included
    node_value_sum: np.ndarray  # (B, N) float64: sum of the values backed up through the node
    node_raw_value: np.ndarray  # (B, N) float64: the network's value of the node when it was expanded
    node_reward: np.ndarray  # (B, N) float64: predicted reward of the transition into the node
    node_discount: np.ndarray  # (B, N) float64: discount of the transition into the node
    parents: np.ndarray  # (B, N) int32: parent node, -1 at the root
    children_index: np.ndarray  # (B, N, W) int32: child node per action (or code), UNEXPANDED if none
    children_prior: np.ndarray  # (B, N, W) float64: prior probability of each action, sigma of each code
    q_bounds: np.ndarray  # (B, 2) float64: smallest and largest Q seen in each tree
    root_legal: np.ndarray  # (B, A) bool: actions the root may take
    embeddings: np.ndarray  # (B, N, L): model state of each node, in the model's dtype
    node_is_chance: np.ndarray  # (B, N) bool: an afterstate, whose children are chance outcomes

    @classmethod
    def allocate(
        cls,
        batch: int,
        num_nodes: int,
        num_actions: int,
        embedding_size: int,
        embedding_dtype: np.dtype = np.float32,
        num_codes: int = 0,
    ) -> Tree:
        width = num_actions + num_codes
        bounds = np.empty((batch, 2))
        bounds[:, 0], bounds[:, 1] = np.inf, -np.inf
        return cls(
            node_visits=np.zeros((batch, num_nodes), np.int32),
            node_value_sum=np.zeros((batch, num_nodes)),
            node_raw_value=np.zeros((batch, num_nodes)),
            node_reward=np.zeros((batch, num_nodes)),
            node_discount=np.zeros((batch, num_nodes)),
            parents=np.full((batch, num_nodes), -1, np.int32),
            children_index=np.full((batch, num_nodes, width), UNEXPANDED, np.int32),
            children_prior=np.zeros((batch, num_nodes, width)),
            q_bounds=bounds,
            root_legal=np.ones((batch, num_actions), bool),
            embeddings=np.zeros((batch, num_nodes, embedding_size), embedding_dtype),
            node_is_chance=np.zeros((batch, num_nodes), np.bool_),
        )

    @property
    def num_actions(self) -> int:
        """A: the decision nodes' actions (the first A child slots)."""
        return self.root_legal.shape[1]

    def root_visit_counts(self) -> np.ndarray:
        """(B, A) visits of each root child."""
        child = self.children_index[:, 0, : self.num_actions]  # (B, A)
        batch = np.arange(child.shape[0])[:, None]
        return np.where(child >= 0, self.node_visits[batch, np.maximum(child, 0)], 0)

    def root_value(self) -> np.ndarray:
        """(B,) mean value of the root over its expansion and all simulations."""
        return self.node_value_sum[:, 0] / self.node_visits[:, 0]

    def root_q_values(self) -> np.ndarray:
        """(B, A) Q(root, a) = r + discount * v(child); the root's value where a child is unvisited."""
        child = self.children_index[:, 0, : self.num_actions]
        batch = np.arange(child.shape[0])[:, None]
        safe = np.maximum(child, 0)
        q = self.node_reward[batch, safe] + self.node_discount[batch, safe] * (
            self.node_value_sum[batch, safe] / np.maximum(self.node_visits[batch, safe], 1)
        )
        return np.where(child >= 0, q, self.root_value()[:, None])


@njit(cache=True, inline="always")
def descend(tree, b, node, action, out_parent, out_action):
    """The child of (node, action) in tree b; at an unexpanded edge, UNEXPANDED, with (node, action) written
    as tree b's leaf edge into the (B,) outputs. Every selection kernel's walk ends here."""
    child = tree.children_index[b, node, action]
    if child == UNEXPANDED:
        out_parent[b] = node
        out_action[b] = action
    return child


@njit(cache=True)
def select_outcome(tree, b, node):
    """The child slot of the chance outcome to follow at chance node ``node`` of tree b: the code c maximising
    sigma(c) / (N(c) + 1), mctx's deterministic quasi-sampling, which visits codes in proportion to sigma;
    ties go to the lowest code. Returns A + c."""
    first = tree.root_legal.shape[1]
    best_slot = first
    best_score = -1.0
    for slot in range(first, tree.children_index.shape[2]):
        child = tree.children_index[b, node, slot]
        visits = 0 if child == UNEXPANDED else tree.node_visits[b, child]
        score = tree.children_prior[b, node, slot] / (visits + 1.0)
        if score > best_score:
            best_score = score
            best_slot = slot
    return best_slot


@njit(cache=True)
def expand_and_backup(arrays, new_node, parent, action, reward, discount, prior_logits, value):
    """Attach node ``new_node`` below (parent, action) in each tree, then back its value up to the root.

    ``arrays`` is ``tuple(tree)``; ``parent``, ``action`` (a child slot), ``reward``, ``discount`` and ``value``
    are (B,), ``prior_logits`` (B, W) (-inf in the slots the new node does not use). Along the path the
    return is accumulated as G <- r + discount * G, each ancestor's value sum grows by G and its visit count
    by one, and every Q = r + discount * v(child) on the path updates the tree's min-max bounds.
    """
    tree = Tree(*arrays)
    width = prior_logits.shape[1]
    for b in range(parent.shape[0]):
        p = parent[b]
        tree.children_index[b, p, action[b]] = new_node
        tree.parents[b, new_node] = p
        tree.node_reward[b, new_node] = reward[b]
        tree.node_discount[b, new_node] = discount[b]
        tree.node_raw_value[b, new_node] = value[b]
        # Softmax of the prior logits, shifted by the max for stability.
        top = prior_logits[b, 0]
        for a in range(1, width):
            top = max(top, prior_logits[b, a])
        total = 0.0
        for a in range(width):
            e = math.exp(prior_logits[b, a] - top)
            tree.children_prior[b, new_node, a] = e
            total += e
        for a in range(width):
            tree.children_prior[b, new_node, a] /= total

        node = new_node
        ret = value[b]
        tree.node_visits[b, node] = 1
        tree.node_value_sum[b, node] = ret
        while tree.parents[b, node] >= 0:
            q = tree.node_reward[b, node] + tree.node_discount[b, node] * (
                tree.node_value_sum[b, node] / tree.node_visits[b, node]
            )
            tree.q_bounds[b, 0] = min(tree.q_bounds[b, 0], q)
            tree.q_bounds[b, 1] = max(tree.q_bounds[b, 1], q)
            ret = tree.node_reward[b, node] + tree.node_discount[b, node] * ret
            node = tree.parents[b, node]
            tree.node_visits[b, node] += 1
            tree.node_value_sum[b, node] += ret
