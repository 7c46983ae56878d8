"""A slow, plainly written MCTS, one tree at a time, in the style of the MuZero pseudocode.

It exists to be read and to check the batched search against: on the same model with no
noise, ``run_mcts`` must return exactly the visit counts this returns, tree for tree. It
follows the same rules as ``muzero.search.puct`` and ``muzero.search.gumbel`` (see their docstrings)
with none of their arrays.
"""

from __future__ import annotations

import math

import numpy as np

from muzero.config import SearchConfig
from muzero.search.gumbel import halving_schedule  # the plan itself, not how it is walked
from muzero.search.protocol import Model, StochasticModel


class Node:
    def __init__(self, prior: float) -> None:
        self.prior = prior
        self.visit_count = 0
        self.value_sum = 0.0
        self.reward = 0.0
        self.discount = 0.0
        self.embedding: np.ndarray | None = None
        self.raw_value = 0.0  # the network's value when the node was expanded (Gumbel's mixed value)
        self.is_chance = False  # an afterstate: its children are chance outcomes, keyed by code
        self.children: dict[int, Node] = {}

    def expanded(self) -> bool:
        return self.embedding is not None

    def value(self) -> float:
        return self.value_sum / self.visit_count


class MinMaxStats:
    """The smallest and largest Q seen in the tree, used to normalise Q to [0, 1]."""

    def __init__(self, floor: float) -> None:
        self.minimum = math.inf
        self.maximum = -math.inf
        self.floor = floor

    def update(self, q: float) -> None:
        self.minimum = min(self.minimum, q)
        self.maximum = max(self.maximum, q)

    def normalize(self, q: float) -> float:
        if self.maximum < self.minimum:
            return 0.0
        return min(max((q - self.minimum) / max(self.maximum - self.minimum, self.floor), 0.0), 1.0)


def run_mcts_reference(
    model: Model,
    observation: np.ndarray,
    config: SearchConfig,
    num_simulations: int,
    root_prior: np.ndarray | None = None,
    legal_actions: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Search one observation (D,); returns (visit counts (A,), root value).

    ``root_prior`` replaces the network's root prior (to inject the same noise the batched search used).
    """
    out = model.initial_inference(observation[None])
    num_actions = out.prior_logits.shape[1]
    legal = np.ones(num_actions, bool) if legal_actions is None else np.asarray(legal_actions, bool)
    if root_prior is None:
        logits = np.where(legal, out.prior_logits[0], -np.inf)
        root_prior = np.exp(logits - logits.max())
        root_prior = root_prior / root_prior.sum()
    root = Node(prior=1.0)
    root.embedding = out.embedding[0]
    root.visit_count = 1
    root.value_sum = float(out.value[0])
    for a in range(num_actions):
        if legal[a]:
            root.children[a] = Node(float(root_prior[a]))

    stats = MinMaxStats(config.q_range_floor)
    for _ in range(num_simulations):
        node = root
        path = [root]
        action = -1
        while node.expanded():
            action, node = select_child(node, stats, config)
            path.append(node)
        backpropagate(path, expand_leaf(model, path[-2], action, node), stats)

    visits = np.zeros(num_actions, np.int64)
    for a, child in root.children.items():
        visits[a] = child.visit_count
    return visits, root.value()


def expand_leaf(model: Model, parent: Node, action: int, node: Node) -> float:
    """Expand ``node``, reached from ``parent`` by ``action`` (a code below a chance node); returns its value.

    Below a decision node of a stochastic model the node is an afterstate: no reward, discount 1, Q(as) as its
    value and sigma as its children's priors."""
    index = np.array([action], np.int32)
    if isinstance(model, StochasticModel) and not parent.is_chance:
        after = model.afterstate_inference(parent.embedding[None], index)
        expand_node(node, after.embedding[0], 0.0, 1.0, after.chance_logits[0])
        node.is_chance = True
        return float(after.value[0])
    if isinstance(model, StochasticModel):
        step = model.chance_inference(parent.embedding[None], index)
    else:
        step = model.recurrent_inference(parent.embedding[None], index)
    expand_node(node, step.embedding[0], float(step.reward[0]), float(step.discount[0]), step.prior_logits[0])
    return float(step.value[0])


def select_outcome(node: Node) -> tuple[int, Node]:
    """At a chance node, the code maximising sigma(c) / (N(c) + 1) (mctx's rule); the lowest code wins ties."""
    return max(node.children.items(), key=lambda item: (item[1].prior / (item[1].visit_count + 1), -item[0]))


def select_child(node: Node, stats: MinMaxStats, config: SearchConfig) -> tuple[int, Node]:
    """The child with the highest pUCT score; the lowest action wins ties. At a chance node, ``select_outcome``."""
    if node.is_chance:
        return select_outcome(node)
    if config.q_normalization == "node":
        # The node's own range: its value and its children's Q.
        stats = MinMaxStats(config.q_range_floor)
        stats.update(node.value())
        for child in node.children.values():
            stats.update(q_value(node, child))
    best = max(node.children.items(), key=lambda item: (ucb_score(node, item[1], stats, config), -item[0]))
    return best


def q_value(parent: Node, child: Node) -> float:
    """Q(s, a) = r + discount * v(s'); an unvisited child is assumed to be as good as its parent."""
    return child.reward + child.discount * child.value() if child.visit_count > 0 else parent.value()


def ucb_score(parent: Node, child: Node, stats: MinMaxStats, config: SearchConfig) -> float:
    exploration = config.pb_c_init + math.log((parent.visit_count + config.pb_c_base + 1.0) / config.pb_c_base)
    exploration *= math.sqrt(parent.visit_count)
    return stats.normalize(q_value(parent, child)) + exploration * child.prior / (1 + child.visit_count)


def expand_node(node: Node, embedding: np.ndarray, reward: float, discount: float, prior_logits: np.ndarray) -> None:
    node.embedding = embedding
    node.reward = reward
    node.discount = discount
    logits = np.asarray(prior_logits, np.float64)
    exp = [math.exp(x - max(logits)) for x in logits]
    total = sum(exp)
    for a, e in enumerate(exp):
        node.children[a] = Node(e / total)


def backpropagate(path: list[Node], value: float, stats: MinMaxStats) -> None:
    """The leaf counts its own value once; each ancestor adds the discounted return through it."""
    leaf = path[-1]
    leaf.visit_count = 1
    leaf.value_sum = value
    for child, parent in zip(reversed(path[1:]), reversed(path[:-1]), strict=True):
        stats.update(child.reward + child.discount * child.value())
        value = child.reward + child.discount * value
        parent.visit_count += 1
        parent.value_sum += value


# -- Gumbel MuZero, one tree at a time (the rules of muzero.search.gumbel, written plainly) -----------------------


def run_gumbel_reference(
    model: Model,
    observation: np.ndarray,
    config: SearchConfig,
    num_simulations: int,
    gumbel: np.ndarray,
    legal_actions: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Gumbel MuZero on one observation (D,) with the given root noise (A,); returns (visits, improved policy,
    action)."""
    out = model.initial_inference(observation[None])
    num_actions = out.prior_logits.shape[1]
    legal = np.ones(num_actions, bool) if legal_actions is None else np.asarray(legal_actions, bool)
    logits = np.where(legal, np.asarray(out.prior_logits[0], np.float64), -np.inf)
    logits = logits - logits.max()
    prior = np.exp(logits) / np.exp(logits).sum()
    root = Node(prior=1.0)
    root.embedding = out.embedding[0]
    root.visit_count = 1
    root.value_sum = root.raw_value = float(out.value[0])
    root.children = {a: Node(float(prior[a])) for a in range(num_actions) if legal[a]}
    schedule = halving_schedule(min(int(legal.sum()), config.gumbel_max_considered), num_simulations)

    def root_score(a: int) -> float:
        return gumbel[a] + logits[a]

    for simulation in range(num_simulations):
        sigma = gumbel_sigma(root, config)
        wanted = [a for a, child in root.children.items() if child.visit_count == schedule[simulation]]
        action = max(wanted, key=lambda a: (root_score(a) + sigma[a], -a))
        node, path = root.children[action], [root, root.children[action]]
        while node.expanded():
            action, node = gumbel_interior_child(node, config)
            path.append(node)
        value = expand_leaf(model, path[-2], action, node)
        node.raw_value = value
        backpropagate(path, value, MinMaxStats(config.q_range_floor))

    sigma = gumbel_sigma(root, config)
    improved = np.zeros(num_actions)
    for a in root.children:
        improved[a] = math.exp(logits[a] + sigma[a] - max(logits[b] + sigma[b] for b in root.children))
    improved /= improved.sum()
    most = max(child.visit_count for child in root.children.values())
    chosen = max(
        (a for a, child in root.children.items() if child.visit_count == most),
        key=lambda a: (root_score(a) + sigma[a], -a),
    )
    visits = np.zeros(num_actions, np.int64)
    for a, child in root.children.items():
        visits[a] = child.visit_count
    return visits, improved, chosen


def completed_q_values(node: Node) -> dict[int, float]:
    """Q of visited actions; the mixed value of the node for the others."""
    visited = {a: child for a, child in node.children.items() if child.visit_count > 0}
    total = sum(child.visit_count for child in node.children.values())
    mixed = node.raw_value
    if visited:
        prior_mass = sum(child.prior for child in visited.values())
        weighted = sum(child.prior * q_value(node, child) for child in visited.values()) / prior_mass
        mixed = (node.raw_value + total * weighted) / (1 + total)
    return {a: q_value(node, visited[a]) if a in visited else mixed for a in node.children}


def gumbel_sigma(node: Node, config: SearchConfig) -> dict[int, float]:
    """sigma(completed Q), with Q rescaled to [0, 1] over the node's actions."""
    q = completed_q_values(node)
    low, high = min(q.values()), max(q.values())
    most = max(child.visit_count for child in node.children.values())
    scale = (config.gumbel_c_visit + most) * config.gumbel_c_scale / max(high - low, 1e-8)
    return {a: (value - low) * scale for a, value in q.items()}


def gumbel_interior_child(node: Node, config: SearchConfig) -> tuple[int, Node]:
    """argmax_a pi'(a) - N(a) / (1 + sum_b N(b)), pi' = softmax(log prior + sigma); lowest action on ties.
    At a chance node, ``select_outcome``."""
    if node.is_chance:
        return select_outcome(node)
    sigma = gumbel_sigma(node, config)
    scores = {a: math.log(child.prior + 1e-30) + sigma[a] for a, child in node.children.items()}
    top = max(scores.values())
    total_mass = sum(math.exp(s - top) for s in scores.values())
    total_visits = sum(child.visit_count for child in node.children.values())

    def key(a: int) -> tuple[float, int]:
        return math.exp(scores[a] - top) / total_mass - node.children[a].visit_count / (1 + total_visits), -a

    action = max(node.children, key=key)
    return action, node.children[action]
