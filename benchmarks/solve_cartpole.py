"""Train the default CartPole-v1 preset for several seeds and report how fast each solves it.

Prints JSON: per seed, whether it solved (final 100-episode greedy evaluation >= the
threshold), the environment steps and wall-clock seconds until a periodic evaluation first
reached the threshold (confirmed on 100 fresh episodes), and the final evaluation's mean;
then the medians over seeds. Unsolved seeds count as the step budget in the medians.

    python benchmarks/solve_cartpole.py --seeds 5
    python benchmarks/solve_cartpole.py --seeds 5 --set learner.batch_size=256 --jobs 2

Timings are only comparable with --jobs 1 (the default): parallel seeds share the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def train_one(seed: int, preset: str, sets: list[str], max_env_steps: int | None) -> dict[str, Any]:
    from muzero.presets import get_preset
    from muzero.training.trainer import Trainer

    config = get_preset(preset).with_sets([*sets, f"run.seed={seed}"])
    if max_env_steps is not None:
        config = config.with_sets([f"run.max_env_steps={max_env_steps}"])
    started = time.perf_counter()
    trainer = Trainer(config)
    counters = trainer.run()
    final = trainer.final_evaluation()
    threshold = trainer.solve_threshold
    final_mean = None if final is None else final.mean
    return {
        "seed": seed,
        "solved": bool(counters.solved and final_mean is not None and final_mean >= threshold),
        "env_steps_to_solve": counters.env_steps_to_solve,
        "seconds_to_solve": None if counters.seconds_to_solve is None else round(counters.seconds_to_solve, 1),
        "final_eval_mean": None if final_mean is None else round(final_mean, 1),
        "final_eval_min": None if final is None else float(final.returns.min()),
        "total_env_steps": counters.env_steps,
        "train_steps": counters.train_steps,
        "training_seconds": round(counters.wall_seconds, 1),
        "seconds_including_final_eval": round(time.perf_counter() - started, 1),
        "time_split": {k: round(v, 1) for k, v in counters.timers.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="train seeds 0 .. N-1 (default 5)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--preset", default="cartpole", help="preset to train (default cartpole)")
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable"
    )
    parser.add_argument("--max-env-steps", type=int, default=None, help="step budget per seed")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once (timings contend if > 1)")
    args = parser.parse_args(argv)

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = list(
                pool.map(
                    train_one,
                    seeds,
                    [args.preset] * len(seeds),
                    [args.sets] * len(seeds),
                    [args.max_env_steps] * len(seeds),
                )
            )
    else:
        runs = []
        for seed in seeds:
            runs.append(train_one(seed, args.preset, args.sets, args.max_env_steps))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)

    def median_of(key: str) -> float:
        return statistics.median(
            r[key] if r[key] is not None else r["total_env_steps"] if key.startswith("env") else r["training_seconds"]
            for r in runs
        )

    report = {
        "preset": args.preset,
        "overrides": args.sets,
        "jobs": args.jobs,
        "runs": runs,
        "solved": sum(r["solved"] for r in runs),
        "seeds": len(runs),
        "median_env_steps_to_solve": median_of("env_steps_to_solve"),
        "median_seconds_to_solve": median_of("seconds_to_solve"),
        "median_final_eval_mean": statistics.median(r["final_eval_mean"] or 0.0 for r in runs),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
