"""Training speed: learner steps per second, and where a CartPole run's wall-clock goes.

1. Learner throughput at the preset's batch size and unroll length: replay sampling with
   target construction (value reanalysis, and Reanalyse's searches when
   ``learner.reanalyse_fraction`` > 0), and the gradient step, timed separately.
2. One full training run of the preset (seed 0 by default) with the split of its wall-clock
   between acting (search and environment), learning, evaluation and the rest.

    python benchmarks/train_speed.py            # both parts
    python benchmarks/train_speed.py --no-run   # throughput only
    python benchmarks/train_speed.py --no-run --set learner.reanalyse_fraction=0.25   # Reanalyse's cost
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from provenance import provenance

from muzero.app.callbacks import default_callbacks
from muzero.presets import get_preset
from muzero.training.trainer import Trainer


def learner_throughput(preset: str, sets: list[str], seconds: float) -> dict:
    config = get_preset(preset).with_sets([*sets, "acting.min_replay_size=1000000"])
    trainer = Trainer(config)
    while trainer.replay.rows_added < 2_000:  # fill replay with real (untrained) play
        trainer.iteration()
    cfg = config.learner
    sample = trainer.sample_batch  # targets, value reanalysis and (learner.reanalyse_fraction) Reanalyse

    # Compile as a run of this configuration would (learner.compile; auto compiles for a full run's budget).
    trainer.learner.prepare(int(config.run.max_env_steps * config.acting.train_ratio))
    started = time.perf_counter()
    trainer.learner.update(sample())
    first_update = time.perf_counter() - started
    for _ in range(20):
        trainer.learner.update(sample())
    sample_time = update_time = 0.0
    steps = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        batch = sample()
        t1 = time.perf_counter()
        trainer.learner.update(batch)
        t2 = time.perf_counter()
        sample_time += t1 - t0
        update_time += t2 - t1
        steps += 1
    total = sample_time + update_time
    return {
        "batch_size": cfg.batch_size,
        "unroll_steps": cfg.unroll_steps,
        "threads": config.run.threads,
        "compiled": trainer.learner.compiled,
        "network": type(trainer.network).__name__,
        "parameters": sum(p.numel() for p in trainer.network.parameters()),
        "first_update_s": round(first_update, 2),  # includes compiling (or loading it from the cache)
        "train_steps_per_s": round(steps / total, 1),
        "ms_per_step": round(1000 * total / steps, 3),
        "ms_sampling_and_targets": round(1000 * sample_time / steps, 3),
        "ms_gradient_step": round(1000 * update_time / steps, 3),
    }


def run_split(preset: str, sets: list[str], seed: int) -> dict:
    config = get_preset(preset).with_sets([*sets, f"run.seed={seed}"])
    trainer = Trainer(config, observers=default_callbacks(config))
    started = time.perf_counter()
    counters = trainer.run()
    wall = time.perf_counter() - started
    timers = counters.timers
    split = {name: round(seconds, 2) for name, seconds in timers.items()}
    split["other"] = round(wall - sum(timers.values()), 2)
    return {
        "seed": seed,
        "solved": counters.solved,
        "env_steps": counters.env_steps,
        "train_steps": counters.train_steps,
        "wall_seconds": round(wall, 2),
        "split_seconds": split,
        "split_share": {k: round(v / wall, 3) for k, v in split.items()},
        "env_steps_per_s_acting": round(counters.env_steps / timers["acting"], 1),
        "train_steps_per_s_learning": round(counters.train_steps / max(timers["learning"], 1e-9), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cartpole")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to time the learner (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the timed run (default 0)")
    parser.add_argument("--no-run", action="store_true", help="skip the full training run")
    args = parser.parse_args(argv)
    report = {
        "provenance": provenance(get_preset(args.preset).with_sets(args.sets).run.threads),
        "preset": args.preset,
        "overrides": args.sets,
        "learner": learner_throughput(args.preset, args.sets, args.seconds),
    }
    if not args.no_run:
        report["run"] = run_split(args.preset, args.sets, args.seed)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
