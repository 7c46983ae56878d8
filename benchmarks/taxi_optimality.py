"""How close a trained Taxi agent is to the optimal policy, episode by episode.

Gymnasium's Taxi threshold (a mean of 8 over 100 episodes) is above what the optimal policy
earns on average: value iteration over Taxi's exact transition table gives an expected return of
7.93 from its start distribution, and 100-episode means of the optimal policy fall below 8 about
half the time. Whether an agent "solves" Taxi is therefore partly a draw of start states. This
benchmark measures what the threshold cannot: for each evaluation episode, the optimal return
from the same start state, and how many episodes the agent played optimally.

    python benchmarks/taxi_optimality.py RUN_DIR [RUN_DIR ...] [--episodes 100] [--seed 0]

Prints JSON per run: the agent's mean, the optimal mean on the same start states, the episodes
played optimally and the worst shortfall; and, for scale, how often 100-episode means of the
optimal policy itself reach 8 over 20 disjoint sets of start states.
"""

from __future__ import annotations

import argparse
import json
import sys

import gymnasium as gym
import numpy as np
from tabular import optimal_values, transition_table


def start_states(seed: int, episodes: int, env_id: str = "Taxi-v4") -> np.ndarray:
    env = gym.make(env_id)
    return np.array([env.reset(seed=seed + i)[0] for i in range(episodes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="run directories or checkpoints of Taxi-v4 agents")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first evaluation episode")
    args = parser.parse_args(argv)

    values, _ = optimal_values(transition_table("Taxi-v4"))  # undiscounted: returns, as the threshold counts them
    scale = [float(values[start_states(100 * k, 100)].mean()) for k in range(20)]
    report = {
        "optimal_expected_return": round(float(gym.make("Taxi-v4").unwrapped.initial_state_distrib @ values), 3),
        "optimal_100_episode_means_reaching_8": f"{sum(m >= 8 for m in scale)}/20",
        "runs": [],
    }
    if args.runs:
        from muzero.app.agent import MuZero

        optimal = values[start_states(args.seed, args.episodes)]
        for run in args.runs:
            result = MuZero.load(run, verbose=False).evaluate(args.episodes, seed=args.seed)
            shortfall = optimal - result.returns
            report["runs"].append(
                {
                    "run": run,
                    "agent_mean": round(result.mean, 3),
                    "optimal_mean_same_starts": round(float(optimal.mean()), 3),
                    "episodes_optimal": int((shortfall <= 0).sum()),
                    "episodes": args.episodes,
                    "worst_shortfall": float(shortfall.max()),
                }
            )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
