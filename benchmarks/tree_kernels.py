"""Why the tree kernels are compiled with Numba: the same search with NumPy kernels instead.

``muzero.search`` walks the B trees with two Numba kernels that loop over the batch in machine
code. The obvious alternative without a compiler is NumPy vectorised over the batch, looping
over tree depth in Python. This benchmark implements that alternative (same arrays, same
rules), runs the whole batched search with each, and prints one JSON record per batch size:

    {"batch": B, "simulations": 50, "numba_ms": ..., "numpy_ms": ..., "numpy_over_numba": ...,
     "numba_kernel_ms": ..., "numpy_kernel_ms": ..., "same_visit_counts": true}

``*_ms`` is one whole search of B trees, ``*_kernel_ms`` the part spent in the two kernels.
``same_visit_counts`` checks that both searches agree exactly.

    python benchmarks/tree_kernels.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from muzero.search import loop, puct
from muzero.search.mcts import run_mcts
from muzero.search.tree import Tree

sys.path.insert(0, str(Path(__file__).parent))
from search_speed import add_search_arguments, observations, setup  # the same model, weights and inputs


def numpy_select_leaves(arrays, c1, c2, q_floor, per_node, out_parent, out_action):
    """``muzero.search.puct.select_leaves`` vectorised over the trees still descending (tree-wide Q only)."""
    if per_node:
        raise NotImplementedError("the NumPy comparison implements tree-wide normalisation only")
    tree = Tree(*arrays)
    trees = np.arange(tree.children_index.shape[0])
    node = np.zeros(len(trees), np.int64)
    legal = tree.root_legal
    while trees.size:
        visits = tree.node_visits[trees, node].astype(np.float64)
        parent_value = tree.node_value_sum[trees, node] / visits
        exploration = (c1 + np.log((visits + c2 + 1.0) / c2)) * np.sqrt(visits)
        child = tree.children_index[trees, node]  # (T, A)
        safe = np.maximum(child, 0)
        rows = trees[:, None]
        unexpanded = child < 0
        child_visits = np.where(unexpanded, 0, tree.node_visits[rows, safe])
        q = tree.node_reward[rows, safe] + tree.node_discount[rows, safe] * (
            tree.node_value_sum[rows, safe] / np.maximum(child_visits, 1)
        )
        q = np.where(unexpanded, parent_value[:, None], q)
        low, high = tree.q_bounds[trees, 0][:, None], tree.q_bounds[trees, 1][:, None]
        normalized = np.where(high < low, 0.0, np.clip((q - low) / np.maximum(high - low, q_floor), 0.0, 1.0))
        score = normalized + exploration[:, None] * tree.children_prior[trees, node] / (1 + child_visits)
        if legal is not None:
            score = np.where(legal[trees], score, -np.inf)
        action = score.argmax(axis=1)
        reached = child[np.arange(len(trees)), action]
        done = reached < 0
        out_parent[trees[done]] = node[done]
        out_action[trees[done]] = action[done]
        trees, node = trees[~done], reached[~done]
        legal = None  # only the root has a legal-action mask


def numpy_expand_and_backup(arrays, new_node, parent, action, reward, discount, prior_logits, value):
    """``muzero.search.tree.expand_and_backup`` vectorised over the trees, looping over the path upwards."""
    tree = Tree(*arrays)
    trees = np.arange(len(parent))
    tree.children_index[trees, parent, action] = new_node
    tree.parents[:, new_node] = parent
    tree.node_reward[:, new_node] = reward
    tree.node_discount[:, new_node] = discount
    tree.node_raw_value[:, new_node] = value
    shifted = np.exp(prior_logits - prior_logits.max(axis=1, keepdims=True))
    tree.children_prior[:, new_node] = shifted / shifted.sum(axis=1, keepdims=True)
    tree.node_visits[:, new_node] = 1
    tree.node_value_sum[:, new_node] = value
    node, ret = np.full(len(trees), new_node), np.array(value, np.float64)
    while True:
        up = tree.parents[trees, node]
        keep = up >= 0
        trees, node, ret, up = trees[keep], node[keep], ret[keep], up[keep]
        if not trees.size:
            return
        r, d = tree.node_reward[trees, node], tree.node_discount[trees, node]
        q = r + d * (tree.node_value_sum[trees, node] / tree.node_visits[trees, node])
        tree.q_bounds[trees, 0] = np.minimum(tree.q_bounds[trees, 0], q)
        tree.q_bounds[trees, 1] = np.maximum(tree.q_bounds[trees, 1], q)
        ret = r + d * ret
        tree.node_visits[trees, up] += 1  # each tree appears once per step, so fancy += is safe
        tree.node_value_sum[trees, up] += ret
        node = up


KERNELS = {
    "numba": (puct.select_leaves, loop.expand_and_backup),
    "numpy": (numpy_select_leaves, numpy_expand_and_backup),
}


def timed_search(kind: str, model, observation, config, simulations: int, min_seconds: float):
    """(seconds per search, seconds per search inside the kernels, visit counts) with ``kind``'s kernels."""
    select, expand = KERNELS[kind]
    spent = [0.0]

    def clocked(fn):
        def wrapper(*args):
            started = time.perf_counter()
            fn(*args)
            spent[0] += time.perf_counter() - started

        return wrapper

    puct.select_leaves, loop.expand_and_backup = clocked(select), clocked(expand)
    try:
        counts = run_mcts(model, observation, config, None, num_simulations=simulations).visit_counts  # warm-up
        spent[0], calls, started = 0.0, 0, time.perf_counter()
        while time.perf_counter() - started < min_seconds:
            run_mcts(model, observation, config, None, num_simulations=simulations)
            calls += 1
        elapsed = time.perf_counter() - started
    finally:
        puct.select_leaves, loop.expand_and_backup = KERNELS["numba"]
    return elapsed / calls, spent[0] / calls, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_search_arguments(parser)
    args = parser.parse_args(argv)
    model, config = setup(args)
    records = []
    for batch in (int(b) for b in args.batches.split(",")):
        observation = observations(batch)
        results = {
            kind: timed_search(kind, model, observation, config, args.simulations, args.min_seconds) for kind in KERNELS
        }
        records.append(
            {
                "batch": batch,
                "simulations": args.simulations,
                "numba_ms": round(results["numba"][0] * 1e3, 3),
                "numpy_ms": round(results["numpy"][0] * 1e3, 3),
                "numpy_over_numba": round(results["numpy"][0] / results["numba"][0], 2),
                "numba_kernel_ms": round(results["numba"][1] * 1e3, 3),
                "numpy_kernel_ms": round(results["numpy"][1] * 1e3, 3),
                "same_visit_counts": bool(np.array_equal(results["numba"][2], results["numpy"][2])),
            }
        )
        print(json.dumps(records[-1]), file=sys.stderr, flush=True)
    print(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
