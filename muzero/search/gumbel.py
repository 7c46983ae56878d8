"""Gumbel MuZero (Danihelka, Guez, Schrittwieser and Silver, ICLR 2022), batched over B trees.

At the root, m = min(``gumbel_max_considered``, legal actions) actions are drawn without
replacement by Gumbel-top-k on g + logits (g ~ Gumbel(0, ``gumbel_scale``); no noise in
evaluation), and Sequential Halving spreads the simulation budget over them: ceil(log2 m) phases,
each giving every surviving action floor(n / (ceil(log2 m) * survivors)) visits (at least one),
then keeping the better half by g + logits + sigma(q). ``halving_schedule`` writes that plan as
the visit count the next simulation's root action must have; the best-scoring action with that
count is taken, which visits exactly the top-m actions first and the survivors after.

    completed Q:  q(a) where a was visited, else v_mix = (v + sum_b N(b) * sum_{b visited} pi(b) q(b)
                  / sum_{b visited} pi(b)) / (1 + sum_b N(b))   (v: the network's value of the node)
    sigma(q)   :  (c_visit + max_b N(b)) * c_scale * (q - min q) / (max q - min q)   (per node)
    improved policy: pi' = softmax(logits + sigma(completed Q))   (the policy target)
    interior nodes:  argmax_a pi'(a) - N(a) / (1 + sum_b N(b))    (deterministic; visits follow pi')
    action taken:    argmax of g + logits + sigma(q) among the most visited root actions

Letters: B batch, N nodes per tree, A actions, S simulations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from numba import njit

from muzero.config import SearchConfig
from muzero.search.loop import masked_softmax
from muzero.search.protocol import RootOutput, SearchOutput
from muzero.search.tree import UNEXPANDED, Tree, descend, select_outcome

Q_EPSILON = 1e-8  # smallest (max - min) of a node's completed Q used to rescale it to [0, 1]


@cache
def halving_schedule(num_considered: int, num_simulations: int) -> tuple[int, ...]:
    """For each simulation, the visit count its root action must have under Sequential Halving.

    With m considered actions and n simulations: phases of floor(n / (ceil(log2 m) * survivors))
    rounds (at least one), each round visiting every survivor once; survivors halve after each
    phase but never drop below two; the last phase repeats until the budget is spent.
    """
    if num_considered <= 1:
        return tuple(range(num_simulations))
    phases = math.ceil(math.log2(num_considered))
    schedule: list[int] = []
    survivors, visits = num_considered, 0  # every survivor has the same number of visits at a phase's start
    while len(schedule) < num_simulations:
        for _ in range(max(1, num_simulations // (phases * survivors))):
            schedule += [visits] * survivors
            visits += 1
        survivors = max(2, survivors // 2)
    return tuple(schedule[:num_simulations])


def schedule_table(num_actions: int, max_considered: int, num_simulations: int) -> np.ndarray:
    """(A + 1, S) int32: row k is the schedule for min(k, max_considered) considered actions."""
    table = np.zeros((num_actions + 1, max(num_simulations, 1)), np.int32)
    for k in range(1, num_actions + 1):
        table[k, :num_simulations] = halving_schedule(min(k, max_considered), num_simulations)
    return table


class GumbelPlan(NamedTuple):
    prior: np.ndarray  # (B, A) softmax of the root logits over the legal actions
    logits: np.ndarray  # (B, A) float64 root logits less their legal maximum; 0 where illegal
    score: np.ndarray  # (B, A) g + logits, the Gumbel-top-k score; -inf where illegal
    considered_visits: np.ndarray  # (S, B) float64: the visit count simulation s's root action must have


@dataclass(frozen=True)
class GumbelPolicy:
    """Gumbel MuZero's search as a ``SearchPolicy`` of ``muzero.search.loop``; its action is its own choice.

    ``rng`` draws the root's Gumbel noise (None: no noise, as in evaluation); ``gumbel`` (B, A) gives it
    explicitly instead (for tests). There is no acting temperature: the Gumbel noise is the exploration.
    """

    config: SearchConfig
    rng: np.random.Generator | None = None
    gumbel: np.ndarray | None = None

    def prepare(self, root: RootOutput, tree: Tree) -> GumbelPlan:
        batch, num_actions = root.prior_logits.shape
        logits = np.where(tree.root_legal, root.prior_logits.astype(np.float64), -np.inf)
        logits -= logits.max(axis=1, keepdims=True)  # stable, and softmax-invariant
        gumbel = self.gumbel
        if gumbel is None:
            gumbel = np.zeros((batch, num_actions))
            if self.rng is not None and self.config.gumbel_scale > 0:
                gumbel = self.config.gumbel_scale * self.rng.gumbel(size=(batch, num_actions))
        score = np.where(tree.root_legal, gumbel + logits, -np.inf)
        prior = masked_softmax(root.prior_logits, tree.root_legal)
        tree.children_prior[:, 0, : tree.num_actions] = prior
        simulations = tree.node_visits.shape[1] - 1
        table = schedule_table(num_actions, self.config.gumbel_max_considered, simulations)
        considered = tree.root_legal.sum(axis=1)  # rows of the table: legal actions per tree
        schedule = np.ascontiguousarray(table[considered].T, dtype=np.float64)
        return GumbelPlan(prior, np.where(tree.root_legal, logits, 0.0), score, schedule)

    def select(
        self, tree: Tree, plan: GumbelPlan, simulation: int, out_parent: np.ndarray, out_action: np.ndarray
    ) -> None:
        config = self.config
        select_leaves_gumbel(
            tuple(tree),
            plan.score,
            plan.considered_visits[simulation],
            config.gumbel_c_visit,
            config.gumbel_c_scale,
            out_parent,
            out_action,
        )

    def finish(self, root: RootOutput, tree: Tree, plan: GumbelPlan) -> SearchOutput:
        batch, num_actions = plan.score.shape
        policy = np.zeros((batch, num_actions))
        chosen = np.zeros(batch, np.int64)
        config = self.config
        root_policy_and_action(
            tuple(tree), plan.logits, plan.score, config.gumbel_c_visit, config.gumbel_c_scale, policy, chosen
        )
        return SearchOutput(
            visit_counts=tree.root_visit_counts(),
            root_value=tree.root_value(),
            root_prior=plan.prior,
            q_values=tree.root_q_values(),
            network_value=np.asarray(root.value, np.float64),
            policy=policy.astype(np.float32),
            action=chosen,
            greedy_action=chosen,
        )


@njit(cache=True, inline="always")
def completed_q(tree, legal, b, node):
    """(A,) completed Q of a node's actions (see the module's docstring), the sum and the max of their visits."""
    num_actions = tree.root_legal.shape[1]
    q = np.zeros(num_actions)
    visits = np.zeros(num_actions)
    total_visits = 0.0
    most_visits = 0.0
    weighted_q = 0.0
    visited_prior = 0.0
    for a in range(num_actions):
        child = tree.children_index[b, node, a]
        if not legal[a] or child == UNEXPANDED:
            continue
        n = tree.node_visits[b, child]
        visits[a] = n
        q[a] = tree.node_reward[b, child] + tree.node_discount[b, child] * (tree.node_value_sum[b, child] / n)
        total_visits += n
        most_visits = max(most_visits, n)
        weighted_q += tree.children_prior[b, node, a] * q[a]
        visited_prior += tree.children_prior[b, node, a]
    raw_value = tree.node_raw_value[b, node]
    mixed = raw_value
    if total_visits > 0 and visited_prior > 0:
        mixed = (raw_value + total_visits * (weighted_q / visited_prior)) / (1.0 + total_visits)
    for a in range(num_actions):
        if visits[a] == 0:
            q[a] = mixed
    return q, visits, total_visits, most_visits


@njit(cache=True)
def sigma_q(q, legal, most_visits, c_visit, c_scale):
    """(A,) sigma of the completed Q, rescaled to [0, 1] over the node's legal actions."""
    low = np.inf
    high = -np.inf
    for a in range(q.shape[0]):
        if legal[a]:
            low = min(low, q[a])
            high = max(high, q[a])
    scale = (c_visit + most_visits) * c_scale / max(high - low, Q_EPSILON)
    out = np.zeros(q.shape[0])
    for a in range(q.shape[0]):
        if legal[a]:
            out[a] = (q[a] - low) * scale
    return out


@njit(cache=True)
def select_leaves_gumbel(arrays, root_score, considered_visits, c_visit, c_scale, out_parent, out_action):
    """Walk each tree (``arrays`` is ``tuple(tree)``) to an unexpanded edge: Sequential Halving at the root,
    pi' - N/(1+sum N) below it.

    ``root_score`` (B, A) is g + logits (-inf where illegal); ``considered_visits`` (B,) the visit count
    the root action of this simulation must have.
    """
    tree = Tree(*arrays)
    num_actions = tree.root_legal.shape[1]
    all_legal = np.ones(num_actions, np.bool_)
    for b in range(tree.children_index.shape[0]):
        node = 0
        while True:
            if tree.node_is_chance[b, node]:  # an afterstate: the outcome by sigma / (N + 1), as in pUCT's walk
                node = descend(tree, b, node, select_outcome(tree, b, node), out_parent, out_action)
                if node == UNEXPANDED:
                    break
                continue
            legal = tree.root_legal[b] if node == 0 else all_legal
            q, visits, total_visits, most_visits = completed_q(tree, legal, b, node)
            sigma = sigma_q(q, legal, most_visits, c_visit, c_scale)
            best_action = -1
            best_score = -np.inf
            if node == 0:
                # Among the root actions with the scheduled visit count, the best by g + logits + sigma.
                for a in range(num_actions):
                    if legal[a] and visits[a] == considered_visits[b]:
                        score = root_score[b, a] + sigma[a]
                        if best_action < 0 or score > best_score:
                            best_score = score
                            best_action = a
                if best_action < 0:  # no action has that count (cannot happen with a valid schedule)
                    for a in range(num_actions):
                        if legal[a] and (best_action < 0 or root_score[b, a] + sigma[a] > best_score):
                            best_score = root_score[b, a] + sigma[a]
                            best_action = a
            else:
                # pi' = softmax(log prior + sigma), then the action whose visits lag pi' the most.
                top = -np.inf
                for a in range(num_actions):
                    top = max(top, math.log(tree.children_prior[b, node, a] + 1e-30) + sigma[a])
                total = 0.0
                improved = np.zeros(num_actions)
                for a in range(num_actions):
                    improved[a] = math.exp(math.log(tree.children_prior[b, node, a] + 1e-30) + sigma[a] - top)
                    total += improved[a]
                for a in range(num_actions):
                    score = improved[a] / total - visits[a] / (1.0 + total_visits)
                    if best_action < 0 or score > best_score:
                        best_score = score
                        best_action = a
            node = descend(tree, b, node, best_action, out_parent, out_action)
            if node == UNEXPANDED:
                break


@njit(cache=True)
def root_policy_and_action(arrays, root_logits, root_score, c_visit, c_scale, out_policy, out_action):
    """The improved policy softmax(logits + sigma(completed Q)) over legal root actions, and the action
    taken: the best g + logits + sigma among the most visited root actions. ``arrays`` is ``tuple(tree)``."""
    tree = Tree(*arrays)
    num_actions = tree.root_legal.shape[1]
    for b in range(tree.children_index.shape[0]):
        legal = tree.root_legal[b]
        q, visits, _, most_visits = completed_q(tree, legal, b, 0)
        sigma = sigma_q(q, legal, most_visits, c_visit, c_scale)
        top = -np.inf
        for a in range(num_actions):
            if legal[a]:
                top = max(top, root_logits[b, a] + sigma[a])
        total = 0.0
        for a in range(num_actions):
            out_policy[b, a] = math.exp(root_logits[b, a] + sigma[a] - top) if legal[a] else 0.0
            total += out_policy[b, a]
        best_action = -1
        best_score = -np.inf
        for a in range(num_actions):
            out_policy[b, a] /= total
            if legal[a] and visits[a] == most_visits:
                score = root_score[b, a] + sigma[a]
                if best_action < 0 or score > best_score:
                    best_score = score
                    best_action = a
        out_action[b] = best_action
