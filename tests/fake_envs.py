"""Environments muzero does not support, registered for tests (``gym.make("tests.fake_envs:...")``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class ImageEnv(gym.Env):
    """Image observations: not a flat vector."""

    observation_space = gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
    action_space = gym.spaces.Discrete(2)


if "muzero-test/ImageEnv-v0" not in gym.registry:
    gym.register("muzero-test/ImageEnv-v0", entry_point=ImageEnv)
