"""Batched Monte Carlo tree search inside a learned model.

The search sees the model only through two functions with typed outputs, as in mctx
(``muzero.search.protocol``):

    initial_inference(observation)          -> RootOutput
    recurrent_inference(embedding, action)  -> RecurrentOutput (with a per-transition discount)

Each simulation is three steps for all B trees at once: ``select_leaves`` walks every tree to
an unexpanded edge, one batched ``recurrent_inference`` call evaluates all B new states, and
``expand_and_backup`` attaches them and backs their values up. No Python loop runs over trees.

Letters: B batch, A actions, D observation size, L embedding size.
"""

from __future__ import annotations

import numpy as np

from muzero.config import SearchConfig
from muzero.search.protocol import Model, RecurrentOutput, RootOutput, SearchOutput
from muzero.search.tree import Tree, expand_and_backup, select_leaves


def choose_actions(result: SearchOutput, temperature: float, rng: np.random.Generator | None) -> np.ndarray:
    """(B,) actions to take: the search's own choice where it made one (Gumbel), else from the visit counts."""
    if result.action is not None:
        return np.asarray(result.action)
    return select_actions(result.visit_counts, temperature, rng, result.q_values)


def most_visited(visit_counts: np.ndarray, q_values: np.ndarray) -> np.ndarray:
    """(B,) the most visited action; equal counts go to the higher Q(root, a), then to the lower index.

    Equal counts happen where the actions' values are close and pUCT spreads the simulations evenly
    (2% of a trained Acrobot agent's greedy steps); taking the lowest index there repeats action 0
    wherever the model is unsure. mctx breaks such ties with noise; the search's own Q is the better
    tie-breaker.
    """
    top = visit_counts == visit_counts.max(axis=1, keepdims=True)
    return np.where(top, q_values, -np.inf).argmax(axis=1)


def greedy_actions(
    model: Model, observation: np.ndarray, config: SearchConfig, legal_actions: np.ndarray | None = None
) -> np.ndarray:
    """(B,) the actions evaluation takes: a noise-free search, then its choice (most visited, or Gumbel's)."""
    return choose_actions(run_mcts(model, observation, config, None, legal_actions=legal_actions), 0.0, None)


def run_mcts(
    model: Model,
    observation: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator | None,
    num_simulations: int | None = None,
    legal_actions: np.ndarray | None = None,
) -> SearchOutput:
    """Search B observations at once.

    ``rng`` supplies the root's Dirichlet noise; pass None for a noise-free search (evaluation).
    ``legal_actions`` (B, A) bool restricts the root's actions; the learned model has no notion
    of legality below the root, so deeper nodes consider every action.
    """
    return search_with_tree(model, observation, config, rng, num_simulations, legal_actions)[0]


def search_with_tree(
    model: Model,
    observation: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator | None,
    num_simulations: int | None = None,
    legal_actions: np.ndarray | None = None,
) -> tuple[SearchOutput, Tree]:
    """``run_mcts``, also returning the searched trees (for drawing one: ``muzero tree``)."""
    if config.algorithm == "gumbel":
        from muzero.search.gumbel import run_gumbel  # imports this module's types

        return run_gumbel(model, observation, config, rng, num_simulations, legal_actions, return_tree=True)
    simulations = config.num_simulations if num_simulations is None else num_simulations
    root, tree = start_search(model, observation, simulations, legal_actions)
    prior = masked_softmax(root.prior_logits, tree.root_legal)
    if rng is not None and config.exploration_fraction > 0:
        noise = dirichlet_noise(rng, tree.root_legal, config.dirichlet_alpha)
        prior = (1.0 - config.exploration_fraction) * prior + config.exploration_fraction * noise
    tree.children_prior[:, 0] = prior

    batch = len(root.value)
    parent = np.zeros(batch, np.int32)
    action = np.zeros(batch, np.int32)
    for sim in range(simulations):
        select_leaves(
            tree.children_index,
            tree.children_prior,
            tree.node_visits,
            tree.node_value_sum,
            tree.node_reward,
            tree.node_discount,
            tree.q_bounds,
            tree.root_legal,
            config.pb_c_init,
            config.pb_c_base,
            config.q_range_floor,
            config.q_normalization == "node",
            parent,
            action,
        )
        expand(model, tree, sim + 1, parent, action)
    visit_counts = tree.root_visit_counts()
    output = SearchOutput(
        visit_counts=visit_counts,
        root_value=tree.root_value(),
        root_prior=prior,
        q_values=tree.root_q_values(),
        network_value=np.asarray(root.value, np.float64),
        policy=visit_policy(visit_counts),
    )
    return output, tree


def start_search(
    model: Model, observation: np.ndarray, simulations: int, legal_actions: np.ndarray | None
) -> tuple[RootOutput, Tree]:
    """The root inference and a tree for ``simulations`` expansions, its root visited once (prior set by the caller)."""
    root = model.initial_inference(observation)
    batch, num_actions = root.prior_logits.shape
    tree = Tree.allocate(batch, simulations + 1, num_actions, root.embedding.shape[-1], root.embedding.dtype)
    if legal_actions is not None:
        legal = np.asarray(legal_actions, bool)
        if legal.shape != (batch, num_actions) or not legal.any(axis=1).all():
            raise ValueError("legal_actions must be (B, A) with at least one legal action per row")
        tree.root_legal[:] = legal
    tree.node_visits[:, 0] = 1
    tree.node_value_sum[:, 0] = root.value
    tree.embeddings[:, 0] = root.embedding
    return root, tree


def expand(model: Model, tree: Tree, new_node: int, parent: np.ndarray, action: np.ndarray) -> RecurrentOutput:
    """Evaluate (parent, action) of every tree with one batched model call, attach ``new_node`` and back it up."""
    step = model.recurrent_inference(tree.embeddings[np.arange(len(parent)), parent], action)
    tree.embeddings[:, new_node] = step.embedding
    expand_and_backup(
        new_node,
        parent,
        action,
        _f64(step.reward),
        _f64(step.discount),
        _f64(step.prior_logits),
        _f64(step.value),
        tree.children_index,
        tree.children_prior,
        tree.node_visits,
        tree.node_value_sum,
        tree.node_reward,
        tree.node_discount,
        tree.parents,
        tree.q_bounds,
    )
    return step


def _f64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def masked_softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(B, A) softmax over the legal actions only; illegal actions get probability 0."""
    masked = np.where(legal, logits, -np.inf)
    shifted = np.exp(masked - masked.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def dirichlet_noise(rng: np.random.Generator, legal: np.ndarray, alpha: float) -> np.ndarray:
    """(B, A) Dirichlet(alpha) samples over each row's legal actions (normalised Gamma draws)."""
    draws = rng.gamma(alpha, 1.0, size=legal.shape) * legal
    total = draws.sum(axis=1, keepdims=True)
    # Gamma draws underflow to 0 for tiny alpha; fall back to uniform over the legal actions.
    uniform = legal / legal.sum(axis=1, keepdims=True)
    return np.where(total > 0, draws / np.where(total > 0, total, 1.0), uniform)


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
