"""Slippery FrozenLake (4x4): the deterministic and the stochastic model, seed by seed, scored exactly.

Each run trains with the environment's preset (``frozenlake``) and ``network.dynamics`` set to the model
under test, within ``--minutes`` of wall clock a seed. The finished agent then plays ``--episodes`` greedy
episodes (no root noise, most-visited action; episode seeds from 1,000,000, never a training seed), and
because the observation is the state, its greedy choice in every state defines a policy that is also
scored exactly: the probability of reaching the goal within the 100-step limit, by finite-horizon
policy evaluation over the environment's transition table. Beside it stands the optimum under the same
limit, by finite-horizon value iteration (about 0.744), and the rate of the stationary policy that is
optimal without a limit. ``benchmarks/model_planning.py`` is run on each agent too (which chooser
picks an optimal action in how many states), and each chooser's policy is scored exactly like the
search's (``chooser_exact_rates``: where the argmax of the model's own Q scores higher than the search,
the search loses what the model knows).

    python benchmarks/solve_frozenlake.py --seeds 3 --runs-dir runs/frozenlake --set run.threads=1

Finished runs keep their result in the runs directory (``benchmark_result.json``, with its commit), as in
``solve_minatar.py``; ``--models stochastic`` runs one side only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from model_planning import report_run
from provenance import provenance
from solve_minatar import cached, eval_curve
from solve_suite import train_one
from tabular import optimal_values, policy_values, transition_table

ENV_ID = "FrozenLake-v1"
HORIZON = 100  # FrozenLake-v1's time limit
EVAL_SEED = 1_000_000


def start_distribution() -> np.ndarray:
    return np.asarray(gym.make(ENV_ID).unwrapped.initial_state_distrib, np.float64)


def optimum() -> dict[str, float]:
    """The best success rates within the time limit: any policy (finite-horizon value iteration), and the
    stationary policy that is optimal without a limit (undiscounted, ties to the lowest action)."""
    table, start = transition_table(ENV_ID), start_distribution()
    finite, _ = optimal_values(table, 1.0, iterations=HORIZON)
    _, q = optimal_values(table, 0.999_999)
    stationary = policy_values(table, q.argmax(axis=1), 1.0, iterations=HORIZON)
    return {"finite_horizon": round(float(start @ finite), 4), "stationary": round(float(start @ stationary), 4)}


def score_agent(run_dir: Path, episodes: int) -> dict[str, Any]:
    """The agent's greedy success rate over ``episodes`` episodes, and its greedy policy's exact rate."""
    from muzero import MuZero
    from muzero.search.mcts import greedy_actions

    agent = MuZero.load(run_dir, verbose=0)
    table = transition_table(ENV_ID)
    states = np.arange(len(table))
    observation = agent.encoder.encode_batch(states)[0]
    policy = greedy_actions(agent.model, observation, agent.config.search)
    exact = float(start_distribution() @ policy_values(table, policy, 1.0, iterations=HORIZON))
    result = agent.evaluate(episodes=episodes, seed=EVAL_SEED)
    planning = report_run(str(run_dir))
    # The exact rate of the policy each of model_planning's choosers defines: the search's (as above), the
    # argmax of the model's one-step Q (and of a stochastic model's expectation over codes), of the value
    # head over the true next states, and of the prior. Where they differ, the search loses what the model knows.
    chooser_rates = {
        name: round(float(start_distribution() @ policy_values(table, np.asarray(p), 1.0, iterations=HORIZON)), 4)
        for name, p in planning["policies"].items()
    }
    return {
        "episodes": episodes,
        "success_rate": round(float(result.mean), 4),
        "policy_exact_rate": round(exact, 4),
        "chooser_exact_rates": chooser_rates,
        "greedy_policy": [int(a) for a in policy],
        "optimal_choices": planning["optimal_choices"],
        "chance": planning.get("chance"),
    }


def run_model(
    model: str, seed: int, minutes: float, sets: list[str], runs_dir: Path, episodes: int, rescore: bool = False
) -> dict:
    model_dir = runs_dir / model
    run_dir = model_dir / ENV_ID / f"seed{seed}"

    def produce() -> dict[str, Any]:
        budget = [f"network.dynamics={model}", f"run.max_minutes={minutes}"]
        run = train_one(ENV_ID, seed, None, [*budget, *sets], [], None, str(model_dir))
        return {**run, "model": model, "curve": eval_curve(run_dir), "final": score_agent(run_dir, episodes)}

    path = run_dir / "benchmark_result.json"
    result = cached(path, produce)
    if rescore and "chooser_exact_rates" not in result["final"]:  # a run finished before a score was added
        result = {**result, "final": score_agent(run_dir, episodes), "rescored_at": provenance(None)["commit"]}
        path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}), file=sys.stderr, flush=True)
    return result


def model_summary(runs: list[dict[str, Any]], target: float) -> dict[str, Any]:
    rates = [r["final"]["success_rate"] for r in runs]
    return {
        "seeds": len(runs),
        "success_rates": rates,
        "policy_exact_rates": [r["final"]["policy_exact_rate"] for r in runs],
        "chooser_exact_rates": [r["final"].get("chooser_exact_rates") for r in runs],
        "seeds_at_target": sum(rate >= target for rate in rates),
        "median_seconds": statistics.median(r["training_seconds"] for r in runs),
        "median_env_steps": statistics.median(r["total_env_steps"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per run (wall clock)")
    parser.add_argument("--episodes", type=int, default=1000, help="greedy episodes played by each agent")
    parser.add_argument("--target", type=float, default=0.70, help="the success rate a seed must reach")
    parser.add_argument("--models", nargs="+", default=["stochastic", "deterministic"])
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs-dir", required=True, metavar="DIR")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score finished runs again from their checkpoints where a score is missing",
    )
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    report: dict[str, Any] = {"env_id": ENV_ID, "optimum": optimum(), "target": args.target, "models": {}}
    for model in args.models:
        runs = [
            run_model(model, s, args.minutes, args.sets, Path(args.runs_dir), args.episodes, args.rescore)
            for s in seeds
        ]
        report["models"][model] = {"runs": runs, "summary": model_summary(runs, args.target)}
    threads = next((int(s.split("=", 1)[1]) for s in reversed(args.sets) if s.startswith("run.threads=")), None)
    print(json.dumps({"provenance": provenance(threads), **report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
