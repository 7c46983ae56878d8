"""Scaling out: the in-process runner against the Ray backend with 1 and 2 actors, in one invocation.

For each environment and backend it trains one run and reports environment steps per second,
training steps per second, the achieved replay ratio, the policy lag (training steps between the
weights that played a chunk and the learner's when it arrived), the resident memory of every
process (the driver and each actor, sampled while it runs) and, for CartPole, the environment
steps and seconds to a confirmed solve. Connect Four runs for a fixed wall-clock (``--seconds``)
of self-play and learning, without evaluations.

From the measured per-component rates it also writes down the cost model: the throughput the
design predicts with more actor cores and where it stops scaling (see ``cost_model``).

    python benchmarks/scaling.py                         # CartPole and Connect Four, all three backends
    python benchmarks/scaling.py --env CartPole-v1 --backends inprocess ray:2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from processes import MemorySampler
from provenance import provenance

from muzero.app.callbacks import default_callbacks
from muzero.app.runner import make_trainer
from muzero.presets import resolve

ENVS = {"CartPole-v1": None, "connect_four_v3": "connect_four"}  # id -> preset (None: the id's own)


def run_one(env_id: str, backend: str, actors: int, seconds: float, sets: list[str], seed: int) -> dict:
    config, preset = resolve(env_id, ENVS.get(env_id))
    game = config.env.id != "CartPole-v1"
    extra = [f"run.seed={seed}", f"distributed.backend={backend}", f"distributed.actors={actors}"]
    if game:  # throughput only: no evaluation inside the window, no time spent on a final one
        extra += ["eval.interval=100000000", "run.max_env_steps=100000000", f"run.max_minutes={seconds / 60}"]
    extra.append("run.threads=1")  # one core for the in-process loop, as for the Ray driver and each actor
    config = config.with_sets([*extra, *sets])
    trainer = make_trainer(config)
    if not game:
        trainer.observers = default_callbacks(config)  # stop at a confirmed solve, as the command line does
    sampler = MemorySampler(trainer, interval=10.0)
    sampler.start()
    started = time.perf_counter()
    counters = trainer.run()
    wall = time.perf_counter() - started
    samples = sampler.stop()
    backend_summary = trainer.backend_summary() or {}
    trained = counters.timers.get("learning", 0.0)
    record = {
        "env": env_id,
        "preset": preset,
        "backend": backend,
        "actors": actors if backend == "ray" else 0,
        "seed": seed,
        "wall_seconds": round(wall, 1),
        "env_steps": counters.env_steps,
        "train_steps": counters.train_steps,
        "env_steps_per_second": round(counters.env_steps / wall, 1),
        "train_steps_per_second": round(counters.train_steps / wall, 1),
        "learner_steps_per_busy_second": round(counters.train_steps / trained, 1) if trained else None,
        "replay_ratio_target": config.acting.train_ratio,
        "replay_ratio_achieved": backend_summary.get(
            "replay_ratio_achieved",
            round(counters.train_steps / max(counters.env_steps - config.acting.min_replay_size, 1), 4),
        ),
        "policy_lag_mean": backend_summary.get("policy_lag_mean", 0.0),
        "policy_lag_max": backend_summary.get("policy_lag_max", 0),
        "learner_wait_seconds": backend_summary.get("learner_wait_seconds", 0.0),
        "actor_env_steps_per_second": backend_summary.get("actor_env_steps_per_second"),
        "time_split": {k: round(v, 1) for k, v in counters.timers.items()},
        "rss_peak_driver_mib": max((s["rss_mib"] for s in samples), default=None),
        "rss_peak_actor_mib": max((max(s["actor_rss_mib"], default=0.0) for s in samples), default=None),
        "rss_samples": samples,
    }
    if not game:
        record |= {
            "solved": counters.solved,
            "env_steps_to_solve": counters.env_steps_to_solve,
            "seconds_to_solve": None if counters.seconds_to_solve is None else round(counters.seconds_to_solve, 1),
        }
    return record


def cost_model(records: list[dict], cores: tuple[int, ...] = (8, 32, 128)) -> list[dict]:
    """Predicted env steps/s with N cores (one driver, N - 1 actors) from the 1-actor Ray run's measured rates.

    Self-play scales with actors while the learner keeps up: with replay ratio r the driver must train r
    steps per env step, so env steps/s <= learner steps/s / r. The driver's own work per env step (writing
    chunks into replay, publishing weights) is the second ceiling; a GPU learner raises only the first.
    """
    predictions = []
    for env in sorted({r["env"] for r in records}):
        one = next((r for r in records if r["env"] == env and r["backend"] == "ray" and r["actors"] == 1), None)
        if one is None or not one["actor_env_steps_per_second"]:
            continue
        actor_rate = one["actor_env_steps_per_second"][0]
        learner_rate = one["learner_steps_per_busy_second"] or 0.0
        ratio = one["replay_ratio_target"]
        acting_share = one["time_split"].get("acting", 0.0) / max(one["wall_seconds"], 1e-9)  # driver, per env step
        driver_limit = one["env_steps_per_second"] / acting_share if acting_share > 0 else None
        for n in cores:
            actors = n - 1
            limits = {"actors": actors * actor_rate, "learner": learner_rate / ratio}
            if driver_limit is not None:
                limits["driver"] = driver_limit
            bound = min(limits, key=limits.get)
            predictions.append(
                {
                    "env": env,
                    "cores": n,
                    "actors": actors,
                    "predicted_env_steps_per_second": round(limits[bound], 1),
                    "bound_by": bound,
                    "limits": {k: round(v, 1) for k, v in limits.items()},
                }
            )
    return predictions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", choices=sorted(ENVS), help="environment (repeatable; default all)")
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["inprocess", "ray:1", "ray:2"],
        help="inprocess and/or ray:N (N actors); default: inprocess ray:1 ray:2",
    )
    parser.add_argument("--seconds", type=float, default=180.0, help="Connect Four's wall-clock per backend")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    records = []
    for env_id in args.env or list(ENVS):
        for spec in args.backends:
            backend, _, count = spec.partition(":")
            actors = int(count or 1)
            print(f"scaling: {env_id} {spec} ...", file=sys.stderr, flush=True)
            record = run_one(env_id, backend, actors, args.seconds, args.sets, args.seed)
            print(json.dumps({k: v for k, v in record.items() if k != "rss_samples"}), file=sys.stderr, flush=True)
            records.append(record)
    report = {
        "benchmark": "scaling",
        "records": records,
        "cost_model": cost_model(records),
        "provenance": provenance(1),  # one torch thread per process: the in-process loop, the driver, each actor
    }
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
