"""What replay holds when CartPole's evaluations rise and fall: the diagnosis of slow seeds.

Trains one seed and, at every periodic evaluation, prints the evaluation's mean next to what the
replay buffer holds at that moment: how many episodes in it truly ended (the pole fell or the cart
left the track) rather than being cut off at 500 steps, and how many stored states were close to
failing (pole angle beyond 0.15 rad or cart beyond 1.8, out of the limits 0.21 and 2.4). A run
that oscillates while its buffer holds no failures is forgetting what failure looks like. The
episode endings kept apart by ``replay.end_reservoir`` are counted separately.

    python benchmarks/forgetting.py --seed 6
    python benchmarks/forgetting.py --seed 6 --set replay.end_reservoir=1000

Prints one JSON line per evaluation (stderr shows progress), then a summary line.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from muzero.app.callbacks import default_callbacks
from muzero.presets import get_preset
from muzero.training.trainer import Trainer


class ReplayProbe:
    """An observer that reads the replay buffer at every periodic evaluation."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def on_eval(self, trainer: Trainer, result, kind: str) -> None:
        if kind != "periodic":
            return
        replay = trainer.replay
        acting = np.arange(replay.position.shape[0]) < replay.num_envs  # rings of the acting environments
        stored = (replay.position >= 0) & acting[:, None]
        live = stored & ~replay.is_final
        obs = replay.observation[live]
        near_fail = (np.abs(obs[:, 2]) > 0.15) | (np.abs(obs[:, 0]) > 1.8)
        row = {
            "env_steps": trainer.counters.env_steps,
            "eval_mean": round(result.mean, 1),
            "eval_min": float(result.returns.min()),
            "replay_rows": int(live.sum()),
            "terminations_in_replay": int((stored & replay.is_final & replay.terminated).sum()),
            "truncations_in_replay": int((stored & replay.is_final & ~replay.terminated).sum()),
            "near_failure_share": round(float(near_fail.mean()) if len(obs) else 0.0, 4),
            "endings_in_reservoir": int(((replay.position >= 0) & replay.is_final & ~acting[:, None]).sum()),
        }
        self.rows.append(row)
        print(json.dumps(row), flush=True)

    def __getattr__(self, name: str):  # the other observer hooks do nothing
        return lambda *args, **kwargs: None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-env-steps", type=int, default=20_000)
    args = parser.parse_args(argv)
    config = get_preset("cartpole").with_sets([*args.sets, f"run.seed={args.seed}"])
    probe = ReplayProbe()
    trainer = Trainer(config, observers=[probe, *default_callbacks(config)])
    counters = trainer.run(args.max_env_steps)
    drops = [r for a, r in zip(probe.rows, probe.rows[1:], strict=False) if a["eval_mean"] >= 400 > r["eval_mean"]]
    summary = {
        "seed": args.seed,
        "overrides": args.sets,
        "solved": counters.solved,
        "env_steps_to_solve": counters.env_steps_to_solve,
        "evaluations": len(probe.rows),
        "drops_from_400": len(drops),
        "terminations_in_replay_at_drops": [r["terminations_in_replay"] for r in drops],
        "terminations_in_replay_median": float(np.median([r["terminations_in_replay"] for r in probe.rows])),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
