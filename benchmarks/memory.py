"""Memory: bytes per stored transition, and resident memory over a long training run.

Replay capacity bounds memory. This trains with a small capacity (so the buffer fills within
the first minutes) and without stopping when solved, samples the resident memory of every
process of the run (the driver, and with ``--backend ray`` each self-play actor) every
``--interval`` seconds, and prints a JSON report with the table of samples. Once the buffer is
full, resident memory should stay flat.

The report also gives replay's bytes per transition for image observations without training
(``image_bytes_per_transition``): a MinAtar frame (10x10x4 bool) and an Atari one (84x84 grayscale,
4 stacked frames), as replay stores them (one uint8 frame a row) and as storing every stacked
observation in float32 would.

    python benchmarks/memory.py --minutes 30
    python benchmarks/memory.py --minutes 30 --backend ray --actors 2
    python benchmarks/memory.py --minutes 20 --preset minatar --capacity 20000
    python benchmarks/memory.py --images-only   # the image sizes alone, no training
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from processes import MemorySampler
from provenance import provenance

from muzero.app.runner import make_trainer
from muzero.config import ReplayConfig
from muzero.envs.stacking import Stacking
from muzero.presets import get_preset
from muzero.replay.buffer import ReplayBuffer

# (name, frame values, stacked frames, actions) of the image observations the report sizes.
IMAGES = (("MinAtar Breakout, 10x10x4 bool", 10 * 10 * 4, 1, 3), ("Atari, 84x84 grayscale, 4 frames", 84 * 84, 4, 6))


def image_bytes_per_transition(rows: int = 16_000, envs: int = 16) -> list[dict]:
    """Replay's bytes per row for each of ``IMAGES``, as stored (uint8, one frame a row) and as float32 stacks."""
    report = []
    for name, frame, frames, actions in IMAGES:
        config = ReplayConfig(capacity=rows)
        stacking = Stacking(frames, frame) if frames > 1 else None
        stored = ReplayBuffer(envs, frames * frame, actions, config, np.uint8, stacking)
        plain = ReplayBuffer(envs, frames * frame, actions, config, np.float32)
        report.append(
            {
                "observation": name,
                "bytes_per_transition": round(stored.nbytes() / rows, 1),
                "float32_stacks_bytes_per_transition": round(plain.nbytes() / rows, 1),
                "gib_per_million_transitions": round(stored.nbytes() / rows * 1e6 / 2**30, 2),
            }
        )
    return report


def growth(samples: list[dict], rows: int, key: str) -> float | list[float | None] | None:
    """MiB a process grew from the first sample with the buffer full to its last sample alive (per actor for
    ``actor_rss_mib``; an actor's None samples, taken while its process was gone, are skipped)."""
    full = [s for s in samples if s["replay_rows"] >= rows]
    if key == "rss_mib":
        return round(full[-1][key] - full[0][key], 1) if len(full) >= 2 else None
    actors = max((len(s[key]) for s in full), default=0)
    grown: list[float | None] = []
    for k in range(actors):
        alive = [s[key][k] for s in full if k < len(s[key]) and s[key][k] is not None]
        grown.append(round(alive[-1] - alive[0], 1) if len(alive) >= 2 else None)
    return grown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cartpole")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--capacity", type=int, default=20_000, help="replay capacity for the run (default 20000)")
    parser.add_argument("--backend", choices=("inprocess", "ray"), default="inprocess")
    parser.add_argument("--actors", type=int, default=2, help="Ray self-play actors (default 2)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--images-only", action="store_true", help="only replay's bytes per image transition")
    args = parser.parse_args(argv)
    if args.images_only:
        report = {"image_bytes_per_transition": image_bytes_per_transition(), "provenance": provenance(None)}
        print(json.dumps(report, indent=2))
        return 0

    sets = [*args.sets, f"replay.capacity={args.capacity}", "run.max_env_steps=1000000000"]
    sets += [f"run.max_minutes={args.minutes}", f"distributed.backend={args.backend}"]
    sets += [f"distributed.actors={args.actors}"]
    trainer = make_trainer(get_preset(args.preset).with_sets(sets))  # no callbacks: it never stops when solved
    replay = trainer.replay
    rows = replay.num_envs * replay.rows_per_env
    sampler = MemorySampler(trainer, interval=args.interval, echo=True)
    sampler.start()
    trainer.run()
    samples = sampler.stop()
    report = {
        "preset": args.preset,
        "backend": args.backend,
        "actors": args.actors if args.backend == "ray" else 0,
        "replay_capacity": args.capacity,
        "replay_bytes": replay.nbytes(),
        "bytes_per_transition": round(replay.nbytes() / rows, 1),
        "samples": samples,
        "rss_growth_after_full_mib": growth(samples, rows, "rss_mib"),
        "actor_rss_growth_after_full_mib": growth(samples, rows, "actor_rss_mib") if args.backend == "ray" else None,
        "image_bytes_per_transition": image_bytes_per_transition(),
        "provenance": provenance(trainer.config.run.threads),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
