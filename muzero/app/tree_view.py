"""``muzero tree``: one search from a real state, drawn as a tree (SVG).

Every expanded node is a circle labelled with its visit count N and mean value V; every edge with
its action, the child's visit count, Q(s, a) = r + discount * V(child), the prior P(s, a) and the
predicted reward r. The action the search chose at the root is drawn in red. Children are ordered
by action; a tree of 25-50 simulations stays readable.

With a stochastic model (``network.dynamics = "stochastic"``) the tree also holds chance nodes, the
afterstates, drawn as squares: the edge into one carries the action (its reward is always 0), and each
edge out of one a chance code c with its probability sigma(c | as) and the reward of that outcome.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from muzero.search.protocol import SearchOutput
from muzero.search.tree import UNEXPANDED, Tree

NODE_GAP, LEVEL_GAP, RADIUS, MARGIN = 112, 96, 17, 40


def tree_nodes(tree: Tree, b: int = 0) -> dict[int, tuple[int, int, int]]:
    """Expanded nodes of tree b: node -> (parent, action into it, depth); the root is (-1, -1, 0)."""
    nodes = {0: (-1, -1, 0)}
    stack = [0]
    while stack:
        node = stack.pop()
        for action, child in enumerate(tree.children_index[b, node]):
            if child != UNEXPANDED:
                nodes[int(child)] = (node, action, nodes[node][2] + 1)
                stack.append(int(child))
    return nodes


def layout(tree: Tree, nodes: dict[int, tuple[int, int, int]], b: int = 0) -> dict[int, float]:
    """x position (in slots) of every node: leaves one slot apart in action order, parents above their children."""
    x: dict[int, float] = {}
    next_slot = [0.0]

    def place(node: int) -> float:
        children = [int(c) for c in tree.children_index[b, node] if c != UNEXPANDED]
        if not children:
            x[node] = next_slot[0]
            next_slot[0] += 1
        else:
            x[node] = float(np.mean([place(child) for child in children]))
        return x[node]

    place(0)
    return x


def tree_svg(tree: Tree, output: SearchOutput, b: int = 0, title: str = "") -> str:
    """The searched tree b as an SVG document."""
    nodes = tree_nodes(tree, b)
    x = layout(tree, nodes, b)
    chosen = int(output.action[b])
    depth = max(d for _, _, d in nodes.values())
    width = int(2 * MARGIN + NODE_GAP * (max(x.values()) + 1))
    height = int(2 * MARGIN + LEVEL_GAP * depth + 60)

    def position(node: int) -> tuple[float, float]:
        return MARGIN + NODE_GAP * (x[node] + 0.5), MARGIN + 40 + LEVEL_GAP * nodes[node][2]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="10">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN - 10}" font-size="13">{escape(title)}</text>',
    ]
    for node, (parent, action, _) in nodes.items():
        if parent < 0:
            continue
        (x0, y0), (x1, y1) = position(parent), position(node)
        visits = int(tree.node_visits[b, node])
        value = tree.node_value_sum[b, node] / visits
        q = tree.node_reward[b, node] + tree.node_discount[b, node] * value
        prior = tree.children_prior[b, parent, action]
        highlight = parent == 0 and action == chosen
        colour, stroke = ("#d62728", 3) if highlight else ("#888888", 1 + min(visits, 40) / 10)
        parts.append(
            f'<line x1="{x0:.1f}" y1="{y0 + RADIUS:.1f}" x2="{x1:.1f}" y2="{y1 - RADIUS:.1f}" '
            f'stroke="{colour}" stroke-width="{stroke:.1f}"/>'
        )
        label_y = y1 - RADIUS - 26
        if tree.node_is_chance[b, parent]:  # an outcome of an afterstate: its code, sigma and reward
            code = action - tree.num_actions
            lines = (
                f"c={code} N={visits}",
                f"Q={_signed(q)} \u03c3={prior:.2f}",
                f"r={_signed(tree.node_reward[b, node])}",
            )
        elif tree.node_is_chance[b, node]:  # into an afterstate: no reward
            lines = (f"a={action} N={visits}", f"Q={_signed(q)} P={prior:.2f}", "")
        else:
            lines = (
                f"a={action} N={visits}",
                f"Q={_signed(q)} P={prior:.2f}",
                f"r={_signed(tree.node_reward[b, node])}",
            )
        for i, line in enumerate(line for line in lines if line):
            parts.append(
                f'<text x="{x1:.1f}" y="{label_y + 10 * i:.1f}" text-anchor="middle" fill="{colour}">{line}</text>'
            )
    for node in nodes:
        cx, cy = position(node)
        visits = int(tree.node_visits[b, node])
        value = tree.node_value_sum[b, node] / visits
        if tree.node_is_chance[b, node]:
            side = 2 * RADIUS
            parts.append(
                f'<rect x="{cx - RADIUS:.1f}" y="{cy - RADIUS:.1f}" width="{side}" height="{side}" fill="#fdf3dc" '
                f'stroke="#333333"/>'
            )
        else:
            fill = "#ffe5e5" if node == 0 else "#eef3fb"
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{RADIUS}" fill="{fill}" stroke="#333333"/>')
        parts.append(f'<text x="{cx:.1f}" y="{cy - 2:.1f}" text-anchor="middle">N {visits}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{cy + 9:.1f}" text-anchor="middle">{value:+.2f}</text>')
    parts.append("</svg>")
    return "\n".join(_with_halo(part) for part in parts)


def _with_halo(part: str) -> str:
    """A text element drawn twice, first in a thick white stroke, so labels stay readable over lines."""
    if not part.startswith("<text"):
        return part
    return part.replace("<text ", '<text stroke="white" stroke-width="3" ', 1) + part


def _signed(x: float) -> str:
    return f"{round(float(x), 3) or 0.0:+.3f}"  # no "-0.000"


def draw_search(agent, seed: int = 0, steps: int = 0, simulations: int | None = None) -> tuple[str, dict]:
    """Play ``steps`` greedy moves from the episode seeded ``seed``, search once from there, and draw it.

    Returns the SVG and a summary (the state's step, the chosen action, root visits, Q and value).
    """
    from muzero.envs.make import legal_mask
    from muzero.search.mcts import greedy_actions, search_with_tree

    source = agent.source
    env = source.make_raw()
    try:
        observation, info = env.reset(seed=seed)
        num_actions = int(env.action_space.n)
        for step in range(steps):
            legal = legal_mask(info.get("action_mask"), num_actions)[None]
            action = int(
                greedy_actions(agent.model, agent.encoder.encode(observation)[None], agent.config.search, legal)[0]
            )
            observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                raise ValueError(f"the episode ended after {step + 1} steps; ask for fewer --steps")
        legal = legal_mask(info.get("action_mask"), num_actions)[None]
        output, tree = search_with_tree(
            agent.model, agent.encoder.encode(observation)[None], agent.config.search, None, simulations, legal
        )
    finally:
        env.close()
    sims = int(tree.node_visits[0, 0]) - 1
    title = (
        f"{source.name}, seed {seed}, step {steps}: {agent.config.search.algorithm} search, {sims} simulations; "
        f"chosen action {int(output.action[0])} (red)"
    )
    summary = {
        "step": steps,
        "action": int(output.action[0]),
        "visits": output.visit_counts[0].tolist(),
        "q": [round(float(q), 4) for q in output.q_values[0]],
        "root_value": round(float(output.root_value[0]), 4),
        "network_value": round(float(output.network_value[0]), 4),
        "nodes": len(tree_nodes(tree)),
    }
    return tree_svg(tree, output, 0, title), summary


def write_svg(svg: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg)
    return path
