"""One seeding function: every random generator of a run derives from its seed."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Generators(NamedTuple):
    acting: np.random.Generator  # root noise and action sampling
    replay: np.random.Generator  # prioritised sampling and padding actions
    env_seed: int  # first seed of the acting environments
    eval_seed: int  # first seed of evaluation episodes


def seed_everything(seed: int) -> Generators:
    torch.manual_seed(seed)
    acting, replay, envs = np.random.SeedSequence(seed).spawn(3)
    env_seed = int(envs.generate_state(1)[0] % 2**31)
    return Generators(
        np.random.default_rng(acting), np.random.default_rng(replay), env_seed, eval_seed=1_000_000 + seed * 10_000
    )
