"""MinAtar with muzero's ``minatar`` preset, seed by seed, beside Stable-Baselines3's DQN and PPO.

Prints JSON: per game and seed, the 100-episode greedy mean after the preset's budget (100,000
environment steps or 60 minutes, whichever comes first), the environment steps and seconds reached, and
the learning curve (every periodic greedy evaluation: environment steps, seconds, mean); then per game
the median and the worst seed. With ``--baselines-python``, the same games are also trained by
``benchmarks/minatar_baselines.py`` (Stable-Baselines3's DQN and PPO with the MinAtar paper's network, in
that Python's own environment: Stable-Baselines3 is no dependency of muzero), evaluated greedily over
100 episodes at each ``--baseline-at`` budget, and reported beside muzero.

    python benchmarks/solve_minatar.py --games Breakout Freeway --seeds 3 --runs-dir runs/minatar
    python benchmarks/solve_minatar.py --games Breakout --seeds 1 --runs-dir runs/minatar \\
        --baselines-python sb3env/bin/python --baselines dqn ppo --baseline-at 100000 1000000

The issue's targets read off this: muzero at 100k at least twice DQN's return at 100k, and at least
DQN's return at 1M. Timings are only comparable one run at a time (``--set run.threads=1`` for one core).

Every finished run leaves its result in the runs directory (``benchmark_result.json`` in a muzero run's
directory, ``baselines/*.json`` for the baselines, each with the commit that produced it), and a run cut
short is continued from its checkpoint: the same command, run again in a later session, picks up where
the last one stopped and reads finished runs back, so the report covers runs that do not fit one session.
Two invocations may share a runs directory (say, ``--skip-muzero`` on one core and the muzero runs on the
other); a last invocation with everything finished prints the whole report.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance import provenance
from solve_suite import train_one

GAMES = ("Breakout", "Freeway", "Asterix", "SpaceInvaders", "Seaquest")
BASELINES = Path(__file__).with_name("minatar_baselines.py")


def eval_curve(run_dir: Path) -> list[dict[str, Any]]:
    """Every periodic greedy evaluation a run wrote to its metrics.csv: env steps, seconds, mean."""
    rows = []
    with open(run_dir / "metrics.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["tag"] == "eval/mean":
                rows.append(
                    {
                        "env_steps": int(row["env_steps"]),
                        "seconds": round(float(row["wall_seconds"]), 1),
                        "mean": float(row["value"]),
                    }
                )
    return rows


def cached(path: Path, produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A run's result, kept in ``path``: finished runs are read back, so that one invocation can span sessions.

    Each result carries the commit it was produced at; delete the file to run it again.
    """
    if path.exists():
        print(f"{path}: finished before, read back", file=sys.stderr, flush=True)
        return json.loads(path.read_text())
    commit = provenance(None)["commit"]  # the code the run starts with
    result = {**produce(), "commit": commit}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return result


def muzero_runs(game: str, seeds: list[int], sets: list[str], runs_dir: Path) -> list[dict[str, Any]]:
    runs = []
    for seed in seeds:
        env_id = f"MinAtar/{game}-v1"
        run_dir = runs_dir / env_id.replace("/", "_") / f"seed{seed}"

        def produce(env_id: str = env_id, seed: int = seed, run_dir: Path = run_dir) -> dict[str, Any]:
            # train_one continues a run that a session's end cut short (its checkpoint holds the clock)
            run = train_one(env_id, seed, None, sets, [], None, str(runs_dir))
            return {**run, "curve": eval_curve(run_dir)}

        runs.append(cached(run_dir / "benchmark_result.json", produce))
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "curve"}), file=sys.stderr, flush=True)
    return runs


def baseline_runs(
    python: str, game: str, algos: list[str], seeds: list[int], at: list[int], runs_dir: Path
) -> list[dict]:
    runs = []
    for algo in algos:
        for seed in seeds:
            command = [python, str(BASELINES), "--game", game, "--algo", algo, "--seed", str(seed), "--at"]
            command += map(str, at)

            def produce(command: list[str] = command) -> dict[str, Any]:
                return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

            budgets = "-".join(map(str, sorted(at)))
            runs.append(cached(runs_dir / "baselines" / f"{game}-{algo}-seed{seed}-at{budgets}.json", produce))
            print(json.dumps(runs[-1]["evaluations"]), file=sys.stderr, flush=True)
    return runs


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    finals = [r["final_eval_mean"] for r in runs if r["final_eval_mean"] is not None]
    return {
        "seeds": len(runs),
        "median_final_eval_mean": statistics.median(finals) if finals else None,
        "worst_final_eval_mean": min(finals) if finals else None,
        "median_env_steps": statistics.median(r["total_env_steps"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["Breakout", "Freeway"], choices=GAMES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs-dir", required=True, metavar="DIR", help="a run directory per game and seed")
    parser.add_argument("--skip-muzero", action="store_true", help="only the baselines")
    parser.add_argument("--baselines-python", default=None, help="a Python with stable-baselines3 and minatar")
    parser.add_argument("--baselines", nargs="+", default=["dqn", "ppo"], choices=("dqn", "ppo"))
    parser.add_argument("--baseline-seeds", type=int, default=1)
    parser.add_argument("--baseline-at", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    report: dict[str, Any] = {"games": {}}
    for game in args.games:
        entry: dict[str, Any] = {"env_id": f"MinAtar/{game}-v1"}
        if not args.skip_muzero:
            runs = muzero_runs(game, seeds, args.sets, Path(args.runs_dir))
            entry["muzero"] = {"runs": runs, "summary": summary(runs)}
        if args.baselines_python:
            baseline_seeds = list(range(args.first_seed, args.first_seed + args.baseline_seeds))
            entry["baselines"] = baseline_runs(
                args.baselines_python, game, args.baselines, baseline_seeds, args.baseline_at, Path(args.runs_dir)
            )
        report["games"][game] = entry
    threads = next((int(s.split("=", 1)[1]) for s in reversed(args.sets) if s.startswith("run.threads=")), None)
    print(json.dumps({"provenance": provenance(threads), **report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
