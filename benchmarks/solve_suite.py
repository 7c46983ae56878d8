"""Train an environment's preset for several seeds and report how fast each solves it.

Prints JSON: per seed, whether it solved (the final 100-episode greedy evaluation at or above
the threshold), the environment steps and wall-clock seconds until a periodic evaluation first
reached the threshold (confirmed on 100 fresh episodes), and the final evaluation's mean and
min; then the medians and the worst seed. Unsolved seeds count as their whole budget.

    python benchmarks/solve_suite.py --env Acrobot-v1 --seeds 3
    python benchmarks/solve_suite.py --env FrozenLake-v1 --env-kwargs is_slippery=False --seeds 3
    python benchmarks/solve_suite.py --all --seeds 3 --runs-dir runs/suite   # every environment of the README

With ``--runs-dir`` each seed writes a run directory (metrics, checkpoint, curve), so that
``muzero plot DIR/ENV/*`` draws the learning curves with their spread across seeds.
Timings are only comparable with --jobs 1 (the default): parallel seeds share the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from provenance import provenance

# The environments of the README's results, each with its Gymnasium keyword arguments.
SUITE: list[tuple[str, tuple[str, ...]]] = [
    ("CartPole-v1", ()),
    ("Acrobot-v1", ()),
    ("Taxi-v4", ()),
    ("FrozenLake-v1", ("is_slippery=True",)),
    ("LunarLander-v3", ()),
    ("MountainCar-v0", ()),
]


def train_one(
    env_id: str | None,
    seed: int,
    preset: str | None,
    sets: list[str],
    env_kwargs: list[str],
    max_env_steps: int | None,
    runs_dir: str | None,
) -> dict[str, Any]:
    from muzero.app.callbacks import CallbackList, default_callbacks
    from muzero.app.runner import make_trainer
    from muzero.presets import resolve

    config, preset = resolve(env_id, preset)
    config = config.with_sets([*sets, f"run.seed={seed}"])
    if env_kwargs:
        config = config.replace({"env.kwargs": tuple(env_kwargs)})
    if max_env_steps is not None:
        config = config.with_sets([f"run.max_env_steps={max_env_steps}"])
    started = time.perf_counter()
    if runs_dir is None:
        trainer = make_trainer(config)  # in-process, or Ray with --set distributed.backend=ray
        trainer.observers = default_callbacks(config)
        counters = trainer.run()
        result = trainer.final_evaluation()
        final = None if result is None else result.summary()
        solved = result is not None and trainer.is_solved(result)
    else:
        from muzero.app.runner import resume_run, start_run, train

        run_dir = Path(runs_dir) / config.env.id.replace("/", "_") / f"seed{seed}"
        if (run_dir / "config.json").exists():  # a run cut short (a session's end): continue it
            print(f"resuming {run_dir}", file=sys.stderr, flush=True)
            trainer = resume_run(run_dir, [], None)
        else:
            trainer = start_run(config, run_dir, preset)
        outcome = train(
            trainer, run_dir, progress=False, artifacts=False, callback=CallbackList(default_callbacks(config))
        )
        final = outcome.summary["final_eval"]
        solved = final is not None and outcome.summary["solved"]
        counters = trainer.counters
    threshold = trainer.solve_threshold
    final_mean = None if final is None else final["mean"]
    return {
        "env": config.env.id,
        "preset": preset,
        "seed": seed,
        "solved": bool(solved),  # Trainer.is_solved: confirmed, and held by the final evaluation
        "threshold": threshold,
        "env_steps_to_solve": counters.env_steps_to_solve,
        "seconds_to_solve": None if counters.seconds_to_solve is None else round(counters.seconds_to_solve, 1),
        "final_eval_mean": None if final_mean is None else round(final_mean, 3),
        "final_eval_min": None if final is None else final["min"],
        "total_env_steps": counters.env_steps,
        "train_steps": counters.train_steps,
        "clipped_targets": counters.clipped_targets,
        "training_seconds": round(counters.wall_seconds, 1),
        "seconds_including_final_eval": round(time.perf_counter() - started, 1),
        "time_split": {k: round(v, 1) for k, v in counters.timers.items()},
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians and the worst seed; an unsolved seed counts as its whole budget (steps and seconds)."""
    steps = [r["env_steps_to_solve"] if r["solved"] else r["total_env_steps"] for r in runs]
    seconds = [r["seconds_to_solve"] if r["solved"] else r["training_seconds"] for r in runs]
    finals = [r["final_eval_mean"] for r in runs if r["final_eval_mean"] is not None]
    return {
        "solved": sum(r["solved"] for r in runs),
        "seeds": len(runs),
        "median_env_steps_to_solve": statistics.median(steps),
        "worst_env_steps_to_solve": max(steps),
        "median_seconds_to_solve": statistics.median(seconds),
        "worst_seconds_to_solve": max(seconds),
        "median_final_eval_mean": statistics.median(finals) if finals else None,
        "worst_final_eval_mean": min(finals) if finals else None,
    }


def run_jobs(args: argparse.Namespace, jobs: list[tuple]) -> list[dict[str, Any]]:
    """Train each job (train_one's arguments), in order, or ``--jobs`` at a time (one torch thread each)."""
    if args.jobs > 1:
        if not any(s.startswith("run.threads=") for job in jobs for s in job[3]):
            jobs = [(*job[:3], ["run.threads=1", *job[3]], *job[4:]) for job in jobs]
        with ProcessPoolExecutor(args.jobs) as pool:
            return list(pool.map(train_one, *zip(*jobs, strict=True)))
    runs = []
    for job in jobs:
        runs.append(train_one(*job))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    return runs


def run_seeds(args: argparse.Namespace, env_id: str | None, env_kwargs: list[str]) -> dict[str, Any]:
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    jobs = [(env_id, s, args.preset, args.sets, env_kwargs, args.max_env_steps, args.runs_dir) for s in seeds]
    runs = run_jobs(args, jobs)
    return {
        "env": runs[0]["env"],
        "env_kwargs": env_kwargs,
        "preset": runs[0]["preset"],
        "overrides": args.sets,
        "jobs": args.jobs,
        "runs": runs,
        **summarise(runs),
    }


def run_compare(args: argparse.Namespace, env_id: str | None, env_kwargs: list[str]) -> dict[str, Any]:
    """Several configurations on the same seeds, interleaved seed by seed so that drift hits all alike.

    Each configuration is one string of space-separated KEY=VALUE overrides (on top of ``--set``);
    "" is the preset as it stands. Ratios are to the first configuration.
    """
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    configs = [c.split() for c in args.compare]
    jobs = []
    for seed in seeds:
        for index, overrides in enumerate(configs):
            runs_dir = None if args.runs_dir is None else str(Path(args.runs_dir) / f"config{index}")
            jobs.append((env_id, seed, args.preset, [*args.sets, *overrides], env_kwargs, args.max_env_steps, runs_dir))
    runs = run_jobs(args, jobs)
    reports = []
    for index, overrides in enumerate(configs):
        mine = runs[index :: len(configs)]
        reports.append({"config": " ".join(overrides) or "(preset)", "runs": mine, **summarise(mine)})
    base = reports[0]
    for report in reports:
        report["ratio_to_first"] = {
            key: round(report[key] / base[key], 3) if base[key] else None
            for key in ("median_env_steps_to_solve", "median_seconds_to_solve", "worst_env_steps_to_solve")
        }
    return {
        "env": runs[0]["env"],
        "seeds": seeds,
        "overrides": args.sets,
        "jobs": args.jobs,
        "configs": reports,
        "table": [
            {
                "config": r["config"],
                "solved": f"{r['solved']}/{r['seeds']}",
                "median_steps": r["median_env_steps_to_solve"],
                "worst_steps": r["worst_env_steps_to_solve"],
                "median_seconds": r["median_seconds_to_solve"],
                "worst_seconds": r["worst_seconds_to_solve"],
                **{
                    f"ratio_{k.removeprefix('median_').removesuffix('_to_solve')}": v
                    for k, v in r["ratio_to_first"].items()
                    if k.startswith("median")
                },
            }
            for r in reports
        ],
    }


def build_parser(description: str = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=None, metavar="ID", help="environment id (its preset, else generic)")
    parser.add_argument("--all", action="store_true", help="every environment of the suite, one after another")
    parser.add_argument("--preset", default=None, help="force a preset (e.g. generic) instead of the env's own")
    parser.add_argument("--env-kwargs", nargs="+", default=[], metavar="KEY=VALUE", help="gymnasium.make kwargs")
    parser.add_argument("--seeds", type=int, default=3, help="train N seeds (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable"
    )
    parser.add_argument("--max-env-steps", type=int, default=None, help="step budget per seed")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once (timings contend if > 1)")
    parser.add_argument("--runs-dir", default=None, metavar="DIR", help="write a run directory per seed under DIR")
    parser.add_argument(
        "--compare",
        nargs="+",
        default=None,
        metavar='"KEY=VALUE ..."',
        help='compare configurations on the same seeds, interleaved: each a quoted list of overrides ("" = preset)',
    )
    return parser


def threads_of(args: argparse.Namespace) -> int:
    """The torch threads every run used: a --set run.threads, else 1 with parallel jobs, else the default."""
    chosen = [s.split("=", 1)[1] for s in args.sets if s.startswith("run.threads=")]
    if chosen:
        return int(chosen[-1])
    from muzero.config import Config

    return 1 if args.jobs > 1 else Config().run.threads


def with_provenance(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The benchmark's result with the command, commit, date, machine and threads it was made with."""
    return {"provenance": provenance(threads_of(args)), **result}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.compare:
        print(json.dumps(with_provenance(run_compare(args, args.env, args.env_kwargs), args), indent=2))
    elif args.all:
        reports = [run_seeds(args, env_id, list(kwargs)) for env_id, kwargs in SUITE]
        print(json.dumps({"provenance": provenance(threads_of(args)), "reports": reports}, indent=2))
    else:
        print(json.dumps(with_provenance(run_seeds(args, args.env, args.env_kwargs), args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
