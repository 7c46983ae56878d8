"""The search loop, written once; the MuZero and Gumbel searches are policies plugged into it.

As mctx composes ``search()`` from its action-selection functions, ``search`` here runs any
``SearchPolicy``: the policy prepares the root (its prior, noise, schedule), then every
simulation is three steps for all B trees at once:

    select   the policy's kernel walks every tree to an unexpanded edge (parent, action)
    expand   one batched ``recurrent_inference`` call evaluates all B new states
    back up  ``tree.expand_and_backup`` attaches them and backs their values up to the roots

and the policy finishes by reading the searched trees into a ``SearchOutput``, with an action.
No Python loop runs over trees.

With a ``StochasticModel`` the expansion has two kinds: a leaf edge out of a decision node leads to
an afterstate (``afterstate_inference``: no reward, discount 1, sigma as the new node's prior over
codes), one out of a chance node to a state (``chance_inference``). The trees of a batch need not
agree, so each kind is one batched call over the trees that need it: at most two calls a simulation.

Letters: B batch, N nodes per tree (simulations + 1), A actions, C chance codes, W = A + C child slots,
D observation size, L embedding size.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np

from muzero.search.protocol import Model, RecurrentOutput, RootOutput, SearchOutput, StochasticModel
from muzero.search.tree import Tree, expand_and_backup

Plan = TypeVar("Plan")


class SearchPolicy(Protocol[Plan]):
    """How a search chooses, in three steps; ``Plan`` is what it decides at the root and selects by."""

    def prepare(self, root: RootOutput, tree: Tree) -> Plan:
        """Write the root's prior into ``tree`` (B, A at node 0) and return this search's plan."""
        ...

    def select(self, tree: Tree, plan: Plan, simulation: int, out_parent: np.ndarray, out_action: np.ndarray) -> None:
        """Write each tree's next unexpanded edge, (parent node, action), into the (B,) outputs."""
        ...

    def finish(self, root: RootOutput, tree: Tree, plan: Plan) -> SearchOutput:
        """The searched trees as a ``SearchOutput``, with the action to take."""
        ...


def search(
    model: Model,
    observation: np.ndarray,
    policy: SearchPolicy,
    num_simulations: int,
    legal_actions: np.ndarray | None = None,
) -> tuple[SearchOutput, Tree]:
    """Search B observations (B, D) with ``num_simulations`` simulations each; returns the output and the trees.

    ``legal_actions`` (B, A) bool restricts the root's actions; the learned model has no notion of
    legality below the root, so deeper nodes consider every action.
    """
    root, tree = start_search(model, observation, num_simulations, legal_actions)
    plan = policy.prepare(root, tree)
    rows = np.arange(len(root.value))  # (B,) each tree's row, to gather its leaf's parent embedding
    parent = np.zeros(len(rows), np.int32)
    action = np.zeros(len(rows), np.int32)
    for simulation in range(num_simulations):
        simulate(model, tree, policy, plan, simulation, rows, parent, action)
    return policy.finish(root, tree, plan), tree


def start_search(
    model: Model, observation: np.ndarray, num_simulations: int, legal_actions: np.ndarray | None
) -> tuple[RootOutput, Tree]:
    """The root inference and a tree for ``num_simulations`` expansions, its root visited once (prior: the policy's)."""
    root = model.initial_inference(observation)
    batch, num_actions = root.prior_logits.shape
    codes = model.num_chance_codes if isinstance(model, StochasticModel) else 0
    tree = Tree.allocate(batch, num_simulations + 1, num_actions, root.embedding.shape[-1], root.embedding.dtype, codes)
    if legal_actions is not None:
        legal = np.asarray(legal_actions, bool)
        if legal.shape != (batch, num_actions) or not legal.any(axis=1).all():
            raise ValueError("legal_actions must be (B, A) with at least one legal action per row")
        tree.root_legal[:] = legal
    tree.node_visits[:, 0] = 1
    tree.node_value_sum[:, 0] = root.value
    tree.node_raw_value[:, 0] = root.value
    tree.embeddings[:, 0] = root.embedding
    return root, tree


def simulate(
    model: Model,
    tree: Tree,
    policy: SearchPolicy,
    plan: object,
    simulation: int,
    rows: np.ndarray,
    parent: np.ndarray,
    action: np.ndarray,
) -> None:
    """Simulation ``simulation`` of all B trees: the policy selects, one model call expands, the kernel backs up."""
    policy.select(tree, plan, simulation, parent, action)
    expand(model, tree, simulation + 1, rows, parent, action)


def expand(
    model: Model, tree: Tree, new_node: int, rows: np.ndarray, parent: np.ndarray, action: np.ndarray
) -> RecurrentOutput:
    """Evaluate (parent, action) of every tree (``rows`` is 0..B-1) with one batched model call, attach
    ``new_node`` and back it up. ``action`` is a child slot (a code's slot below a chance node)."""
    if tree.children_index.shape[2] > tree.num_actions:
        step = expand_with_chance(model, tree, new_node, rows, parent, action)
    else:
        step = model.recurrent_inference(tree.embeddings[rows, parent], action)
    tree.embeddings[:, new_node] = step.embedding
    expand_and_backup(
        tuple(tree),
        new_node,
        parent,
        action,
        _f64(step.reward),
        _f64(step.discount),
        _f64(step.prior_logits),
        _f64(step.value),
    )
    return step


def expand_with_chance(
    model: StochasticModel, tree: Tree, new_node: int, rows: np.ndarray, parent: np.ndarray, action: np.ndarray
) -> RecurrentOutput:
    """The new nodes of a tree with chance nodes, as one (B,) ``RecurrentOutput`` with (B, W) prior logits: an
    afterstate below each decision leaf (reward 0, discount 1, sigma in the code slots), a state below each
    chance leaf (the model's reward and discount, the policy in the action slots); ``new_node`` is marked."""
    num_actions = tree.num_actions
    batch, width = len(rows), tree.children_index.shape[2]
    after = ~tree.node_is_chance[rows, parent]  # (B,) the leaf edge leaves a decision node: an afterstate
    tree.node_is_chance[:, new_node] = after
    reward, discount, value = np.zeros(batch), np.ones(batch), np.zeros(batch)
    logits = np.full((batch, width), -np.inf)
    embedding = np.empty_like(tree.embeddings[:, new_node])
    if after.any():
        out = model.afterstate_inference(tree.embeddings[after, parent[after]], action[after])
        value[after], embedding[after] = out.value, out.embedding
        logits[after, num_actions:] = out.chance_logits
    state = ~after
    if state.any():
        out = model.chance_inference(tree.embeddings[state, parent[state]], action[state] - num_actions)
        reward[state], discount[state], value[state] = out.reward, out.discount, out.value
        embedding[state] = out.embedding
        logits[state, :num_actions] = out.prior_logits
    return RecurrentOutput(reward, discount, logits, value, embedding)


def _f64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def masked_softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(B, A) softmax over the legal actions only; illegal actions get probability 0."""
    masked = np.where(legal, logits, -np.inf)
    shifted = np.exp(masked - masked.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
