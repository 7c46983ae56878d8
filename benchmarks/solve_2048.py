"""2048 (``muzero/2048-v0``): the deterministic and the stochastic model side by side at the same budget.

Each model trains with the ``game2048`` preset (with the settings ``MODELS`` gives it) for the same
wall-clock budget per seed (``--minutes``, 60 by default), one run at a time. Each finished agent then
plays ``--games`` greedy games (no root noise, most-visited action, seeds 1,000,000 and up: never a
training seed), and the report gives, per run and per model, the mean score, the share of games whose
largest tile reached 512, 1024 and 2048, the environment and training steps reached, and the learning
curve (the periodic greedy evaluations). The issue's target reads off ``ratio``: the stochastic model's
mean score over the deterministic one's (at least 1.3). The models: ``deterministic`` (MuZero),
``stochastic`` (Stochastic MuZero with the codes the game names, ``info["chance"]``: the preset's
default, ``network.chance_labels`` auto) and ``stochastic-encoder`` (codes learned by the chance encoder,
as in the paper; ``ratios`` has each stochastic model's, over the seeds both models have run).
``--finished-only`` reports the runs finished so far and starts none.

    python benchmarks/solve_2048.py --seeds 2 --runs-dir runs/2048 --set run.threads=1

Finished runs keep their result in the runs directory (``benchmark_result.json``, with its commit) and a
run cut short continues from its checkpoint, as in ``solve_minatar.py``: run the same command again in a
later session. ``--models stochastic`` (or ``deterministic``) runs one side only, so two invocations can
share the machine's two cores.
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
from provenance import provenance
from solve_minatar import cached, eval_curve
from solve_suite import train_one

ENV_ID = "muzero/2048-v0"
TILES = (512, 1024, 2048)
EVAL_SEED = 1_000_000


def play_games(run_dir: Path, games: int, batch: int = 32) -> dict[str, Any]:
    """``games`` greedy games of the agent in ``run_dir``, ``batch`` at a time: scores and largest tiles."""
    from muzero import MuZero

    agent = MuZero.load(run_dir, verbose=0)
    limit = agent.config.env.max_episode_steps
    scores, tiles, lengths = [], [], []
    for start in range(0, games, batch):
        n = min(batch, games - start)
        envs = [gym.make(ENV_ID, max_episode_steps=limit) for _ in range(n)]
        observations, masks = [], []
        for i, env in enumerate(envs):
            obs, info = env.reset(seed=EVAL_SEED + start + i)
            observations.append(obs)
            masks.append(info["action_mask"])
        live = list(range(n))
        steps = np.zeros(n, int)
        while live:
            actions, _ = agent.predict(
                np.stack([observations[i] for i in live]),
                deterministic=True,
                action_masks=np.stack([masks[i] for i in live]),
            )
            still = []
            for i, action in zip(live, np.atleast_1d(actions), strict=True):
                obs, _, terminated, truncated, info = envs[i].step(int(action))
                observations[i], masks[i] = obs, info["action_mask"]
                steps[i] += 1
                if terminated or truncated:
                    scores.append(int(info["score"]))
                    tiles.append(int(info["max_tile"]))
                    lengths.append(int(steps[i]))
                else:
                    still.append(i)
            live = still
            print(f"\r{run_dir}: {len(scores)}/{games} games", end="", file=sys.stderr, flush=True)
        for env in envs:
            env.close()
    print(file=sys.stderr)
    return {
        "games": games,
        "mean_score": round(float(np.mean(scores)), 1),
        "median_score": float(np.median(scores)),
        "max_score": int(max(scores)),
        "mean_length": round(float(np.mean(lengths)), 1),
        "reached": {str(t): round(float(np.mean(np.asarray(tiles) >= t)), 4) for t in TILES},
        "max_tiles": sorted(tiles),
    }


MODELS = {
    "deterministic": ["network.dynamics=deterministic"],
    "stochastic": ["network.dynamics=stochastic", "network.chance_labels=env"],
    "stochastic-encoder": ["network.dynamics=stochastic", "network.chance_labels=encoder"],
}


def run_path(runs_dir: Path, model: str, seed: int) -> Path:
    return runs_dir / model / ENV_ID.replace("/", "_") / f"seed{seed}"


def ratios(models: dict[str, Any]) -> dict[str, float]:
    """Each stochastic model's mean score over the deterministic one's, on the seeds both have run."""
    if "deterministic" not in models:
        return {}

    def scores(model: str) -> dict[int, float]:
        return {r["seed"]: r["final_games"]["mean_score"] for r in models[model]["runs"]}

    deterministic = scores("deterministic")
    out = {}
    for model in models:
        seeds = sorted(set(scores(model)) & set(deterministic)) if model != "deterministic" else []
        base = sum(deterministic[s] for s in seeds)
        if seeds and base:
            out[model] = round(sum(scores(model)[s] for s in seeds) / base, 3)
    return out


def run_model(model: str, seed: int, minutes: float, sets: list[str], runs_dir: Path, games: int) -> dict[str, Any]:
    model_dir = runs_dir / model
    run_dir = run_path(runs_dir, model, seed)

    def produce() -> dict[str, Any]:
        budget = [*MODELS[model], f"run.max_minutes={minutes}", "run.max_env_steps=100000000"]
        run = train_one(ENV_ID, seed, None, [*budget, *sets], [], None, str(model_dir))
        return {**run, "model": model, "curve": eval_curve(run_dir), "final_games": play_games(run_dir, games)}

    result = cached(run_dir / "benchmark_result.json", produce) | {"model": model}
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}), file=sys.stderr, flush=True)
    return result


def model_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    games = [r["final_games"] for r in runs]
    return {
        "seeds": len(runs),
        "mean_score": round(statistics.mean(g["mean_score"] for g in games), 1),
        "per_seed_mean_score": [g["mean_score"] for g in games],
        "reached": {str(t): round(statistics.mean(g["reached"][str(t)] for g in games), 4) for t in TILES},
        "mean_env_steps": round(statistics.mean(r["total_env_steps"] for r in runs)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=60.0, help="training budget per run (wall clock)")
    parser.add_argument("--games", type=int, default=100, help="greedy games played by each finished agent")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["deterministic", "stochastic"])
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs-dir", required=True, metavar="DIR")
    parser.add_argument(
        "--finished-only",
        action="store_true",
        help="report the runs that have finished, start none (a report while seeds are still to run)",
    )
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    runs_dir = Path(args.runs_dir)
    report: dict[str, Any] = {"env_id": ENV_ID, "minutes": args.minutes, "models": {}}
    for model in args.models:
        if args.finished_only:
            seeds_run = [s for s in seeds if (run_path(runs_dir, model, s) / "benchmark_result.json").exists()]
        else:
            seeds_run = seeds
        if seeds_run:
            runs = [run_model(model, seed, args.minutes, args.sets, runs_dir, args.games) for seed in seeds_run]
            report["models"][model] = {"runs": runs, "summary": model_summary(runs)}
    report["ratios"] = ratios(report["models"])
    report["ratio"] = report["ratios"].get("stochastic")
    threads = next((int(s.split("=", 1)[1]) for s in reversed(args.sets) if s.startswith("run.threads=")), None)
    print(json.dumps({"provenance": provenance(threads), **report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
