"""Memory: bytes per stored transition, and resident memory over a long training run.

Replay capacity bounds memory. This trains with a small capacity (so the buffer fills within
the first minutes) and without stopping when solved, samples the process's resident memory
every ``--interval`` seconds, and prints a JSON report with the table of samples. Once the
buffer is full, resident memory should stay flat.

    python benchmarks/memory.py --minutes 30
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from muzero.presets import get_preset
from muzero.training.trainer import Trainer


def resident_mib() -> float:
    try:
        with open("/proc/self/statm") as file:
            pages = int(file.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # not Linux: the peak is the best we can do
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cartpole")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--capacity", type=int, default=20_000, help="replay capacity for the run (default 20000)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    config = get_preset(args.preset).with_sets(
        [*args.sets, f"replay.capacity={args.capacity}", "run.stop_when_solved=false", "run.max_env_steps=1000000000"]
    )
    trainer = Trainer(config)
    replay = trainer.replay
    bytes_per_transition = replay.nbytes() / (replay.num_envs * replay.rows_per_env)
    samples = []
    started = time.perf_counter()
    next_sample = 0.0
    while True:
        elapsed = time.perf_counter() - started
        if elapsed >= next_sample:
            samples.append(
                {
                    "minute": round(elapsed / 60, 2),
                    "env_steps": trainer.counters.env_steps,
                    "replay_rows": int(min(replay.head.sum(), replay.num_envs * replay.rows_per_env)),
                    "rss_mib": round(resident_mib(), 1),
                }
            )
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
            next_sample += args.interval
        if elapsed >= args.minutes * 60:
            break
        trainer.iteration()
    full = [s["rss_mib"] for s in samples if s["replay_rows"] >= replay.num_envs * replay.rows_per_env]
    report = {
        "preset": args.preset,
        "replay_capacity": args.capacity,
        "replay_bytes": replay.nbytes(),
        "bytes_per_transition": round(bytes_per_transition, 1),
        "samples": samples,
        "rss_growth_after_full_mib": None if len(full) < 2 else round(full[-1] - full[0], 1),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
