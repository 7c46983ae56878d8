"""Does a trained agent's learned model plan as well as its own value head would with the true dynamics?

For toy-text environments that publish their transition table (FrozenLake, Taxi, CliffWalking),
every state can be scored exactly. Per state this compares four ways of choosing an action with
the optimal ones (value iteration with the run's discount):

- ``search``: what the agent does (a noise-free search, most visited action);
- ``model_q``: one step through the learned, deterministic model, r(s, a) + gamma v(g(s, a)); for a
  stochastic model the afterstate's value Q(as), and beside it ``chance_q``, the expectation over the
  model's chance codes, sum_c sigma(c | as) (r(as, c) + gamma v(s'_c));
- ``true_next_q``: the agent's own value head, but averaged over the *true* next states,
  sum_s' P(s' | s, a) (r + gamma v(h(s'))): what a model that knew the chance outcomes would compute;
- ``prior``: the policy head alone.

If ``true_next_q`` picks optimal actions where ``model_q`` does not, the value head knows enough and
the deterministic dynamics is what fails: in a stochastic environment g(s, a) must stand for a
whole distribution of next states with one latent vector. Stochastic MuZero (Antonoglou et al.,
2022) replaces that step by an afterstate and a learned distribution over chance outcomes, so that
its search computes the ``true_next_q`` kind of expectation. The values are reported as well: the
network's v(h(s)), the exact value of the agent's own greedy policy, and the optimal value.

    python benchmarks/model_planning.py RUN_DIR [RUN_DIR ...]

Prints JSON per run: the states where each chooser is optimal, the mean of each value over the
non-terminal states, the expected discounted return from the start states of the policy each
chooser defines (exact), and the per-state table.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import gymnasium as gym
import numpy as np
from tabular import backup, optimal_values, policy_values, transition_table


def terminal_states(table: dict) -> set[int]:
    """States every action of which stays put with reward 0 and ends the episode (holes and goals)."""
    return {
        s
        for s, actions in table.items()
        if all(all(s2 == s and done for _, s2, _, done in outcomes) for outcomes in actions.values())
    }


def one_step(model: Any, embedding: np.ndarray, action: int) -> np.ndarray:
    """(B,) r(s, a) + discount v(g(s, a)) through the learned model, for one action in every state."""
    out = model.recurrent_inference(embedding, np.full(len(embedding), action))
    return np.asarray(out.reward + out.discount * out.value, np.float64)


def afterstate_values(model: Any, embedding: np.ndarray, action: int) -> tuple[np.ndarray, np.ndarray]:
    """A stochastic model's two readings of Q(s, a), each (B,): the afterstate's own value Q(as), and the
    expectation over its chance codes, sum_c sigma(c | as) (r(as, c) + discount v(s'_c))."""
    after = model.afterstate_inference(embedding, np.full(len(embedding), action))
    logits = np.asarray(after.chance_logits, np.float64)
    sigma = np.exp(logits - logits.max(axis=1, keepdims=True))
    sigma /= sigma.sum(axis=1, keepdims=True)
    expected = np.zeros(len(embedding))
    for code in range(sigma.shape[1]):
        out = model.chance_inference(after.embedding, np.full(len(embedding), code))
        expected += sigma[:, code] * (out.reward + out.discount * out.value)
    return np.asarray(after.value, np.float64), expected


def chance_report(model: Any, embedding: np.ndarray, live: list[int], num_actions: int) -> dict[str, Any]:
    """How the stochastic model spreads each live (state, action)'s chance: the codes it gives more than 10%."""
    shares = []
    for action in range(num_actions):
        logits = np.asarray(model.afterstate_inference(embedding, np.full(len(embedding), action)).chance_logits)
        sigma = np.exp(logits - logits.max(axis=1, keepdims=True))
        shares.append(sigma / sigma.sum(axis=1, keepdims=True))
    sigma = np.stack(shares, axis=1)[live]  # (live, A, C)
    return {
        "codes": int(sigma.shape[-1]),
        "mean_top_code_share": round(float(sigma.max(-1).mean()), 4),
        "mean_codes_over_10pct": round(float((sigma > 0.1).sum(-1).mean()), 3),
    }


def report_run(run: str) -> dict[str, Any]:
    from muzero.app.agent import MuZero
    from muzero.envs.make import parse_env_kwargs
    from muzero.search.mcts import greedy_actions

    agent = MuZero.load(run, verbose=False)
    config = agent.config
    table = transition_table(config.env.id, **parse_env_kwargs(config.env.kwargs))
    discount, scale = config.discount, config.env.reward_scale
    best_values, best_q = optimal_values(table, discount)

    states = np.arange(len(table))
    observation = agent.encoder.encode_batch(states)[0]
    model = agent.model
    root = model.initial_inference(observation)
    net_values = np.asarray(root.value, np.float64) / scale
    num_actions = best_q.shape[1]
    stochastic = hasattr(model, "afterstate_inference")
    extra: dict[str, np.ndarray] = {}
    if stochastic:  # Q(as) for model_q; the expectation over codes beside it
        pairs = [afterstate_values(model, root.embedding, a) for a in range(num_actions)]
        model_q = np.stack([q for q, _ in pairs], axis=1) / scale
        extra["chance_q"] = np.stack([e for _, e in pairs], axis=1) / scale
    else:
        model_q = np.stack([one_step(model, root.embedding, a) for a in range(num_actions)], axis=1) / scale
    true_next_q = backup(table, net_values, discount)  # the value head over the true next states
    search = greedy_actions(model, observation, config.search)  # as evaluation plays
    choosers = {
        "search": search,
        "model_q": model_q.argmax(axis=1),
        **{name: q.argmax(axis=1) for name, q in extra.items()},
        "true_next_q": true_next_q.argmax(axis=1),
        "prior": np.asarray(root.prior_logits).argmax(axis=1),
    }
    greedy_values = policy_values(table, search, discount)
    start = np.asarray(gym.make(config.env.id, **parse_env_kwargs(config.env.kwargs)).unwrapped.initial_state_distrib)

    live = [s for s in states if s not in terminal_states(table)]
    optimal_sets = {s: set(np.flatnonzero(np.isclose(best_q[s], best_q[s].max(), rtol=0.0, atol=1e-9))) for s in live}
    rows = [
        {
            "state": int(s),
            "optimal_actions": sorted(int(a) for a in optimal_sets[s]),
            **{name: int(actions[s]) for name, actions in choosers.items()},
            "optimal_q": [round(float(q), 4) for q in best_q[s]],
            "model_q": [round(float(q), 4) for q in model_q[s]],
            **{name: [round(float(x), 4) for x in q[s]] for name, q in extra.items()},
            "true_next_q": [round(float(q), 4) for q in true_next_q[s]],
            "v_net": round(float(net_values[s]), 4),
            "v_greedy_policy": round(float(greedy_values[s]), 4),
            "v_optimal": round(float(best_values[s]), 4),
        }
        for s in live
    ]
    return {
        "run": run,
        "env": config.env.id,
        "env_kwargs": list(config.env.kwargs),
        "discount": discount,
        "dynamics": config.network.dynamics,
        **({"chance": chance_report(model, root.embedding, live, num_actions)} if stochastic else {}),
        "states": len(live),
        "optimal_choices": {
            name: int(sum(actions[s] in optimal_sets[s] for s in live)) for name, actions in choosers.items()
        },
        # Expected discounted return from the start distribution of the policy each chooser defines.
        "start_value": {
            **{
                name: round(float(start @ policy_values(table, actions, discount)), 4)
                for name, actions in choosers.items()
            },
            "optimal": round(float(start @ best_values), 4),
        },
        "mean_values": {
            "v_net": round(float(net_values[live].mean()), 4),
            "v_greedy_policy": round(float(greedy_values[live].mean()), 4),
            "v_optimal": round(float(best_values[live].mean()), 4),
        },
        "per_state": rows,
        "policies": {name: [int(a) for a in actions] for name, actions in choosers.items()},  # every state's action
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories or checkpoints of agents on FrozenLake, Taxi, ...")
    args = parser.parse_args(argv)
    print(json.dumps([report_run(run) for run in args.runs], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
