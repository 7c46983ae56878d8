"""Symmetry augmentation: each training sample moved by a random symmetry of its game.

A game's symmetries (``muzero.envs.games.symmetries``) map a position and its moves to another
position that plays exactly alike, so every stored sample stands for a whole orbit of them. Each
sample of a batch gets its own random element, applied consistently to everything in it that
names a board cell or a move: the observation, the observations reached for the consistency
loss, the unrolled actions and the policy targets. Values, rewards and masks are the same in
every image. Environments without a group are not touched, and no random number is drawn for
them, so their runs stay exactly as they were.

Letters: B batch, K unroll steps, D observation size, A actions, G group size.
"""

from __future__ import annotations

import numpy as np

from muzero.config import Config
from muzero.envs.games.rules import rules_for
from muzero.envs.games.symmetries import Symmetries
from muzero.replay.buffer import TrainingBatch


def training_symmetries(config: Config) -> Symmetries | None:
    """The group training augments by: the game's, when ``learner.symmetry_augmentation`` is on and it has one."""
    rules = rules_for(config.env.id)
    if rules is None or not config.learner.symmetry_augmentation or rules.symmetries.size < 2:
        return None
    return rules.symmetries


def transform_batch(batch: TrainingBatch, symmetries: Symmetries, element: np.ndarray) -> TrainingBatch:
    """The batch with sample b moved by symmetry ``element[b]`` (B,)."""
    size = symmetries.observation_index.shape[1]
    if batch.observation.shape[-1] != size:
        raise ValueError(f"the symmetries move {size}-wide observations; the batch's are {batch.observation.shape}")
    return batch._replace(
        observation=symmetries.observations(batch.observation, element),  # (B, D)
        actions=symmetries.actions(batch.actions, element),  # (B, K)
        target_policy=symmetries.per_action(batch.target_policy, element),  # (B, K+1, A)
        next_observations=symmetries.observations(batch.next_observations, element),  # (B, K, D)
    )


def augment(batch: TrainingBatch, symmetries: Symmetries, rng: np.random.Generator) -> TrainingBatch:
    """The batch with each sample moved by its own uniformly drawn element of ``symmetries``."""
    element = rng.integers(0, symmetries.size, size=len(batch.index))
    return transform_batch(batch, symmetries, element)
