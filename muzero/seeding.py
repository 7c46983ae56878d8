"""One seeding function: every random generator of a run derives from its seed."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Generators(NamedTuple):
    acting: np.random.Generator  # root noise and action sampling
    replay: np.random.Generator  # prioritised sampling and padding actions
    env_seed: int  # first seed of the acting environments
    eval_seed: int  # first episode seed of this run's evaluations: (seed + 1) * EVAL_SEED_BLOCK


# Every run owns the evaluation episode seeds [(seed + 1) * EVAL_SEED_BLOCK, (seed + 2) * EVAL_SEED_BLOCK): the
# final evaluation takes the first FINAL_EVAL_SEEDS of them, periodic and confirming evaluations the rest, in
# order, never reusing one. So no two evaluations of one run, or of two runs, ever play the same episode.
EVAL_SEED_BLOCK = 10**9
FINAL_EVAL_SEEDS = 10**6


def seed_everything(seed: int) -> Generators:
    torch.manual_seed(seed)
    acting, replay, envs = np.random.SeedSequence(seed).spawn(3)
    env_seed = int(envs.generate_state(1)[0] % 2**31)
    return Generators(
        np.random.default_rng(acting), np.random.default_rng(replay), env_seed, eval_seed=(seed + 1) * EVAL_SEED_BLOCK
    )
