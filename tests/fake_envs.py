"""Environments muzero does not support, registered for tests (``gym.make("tests.fake_envs:...")``)."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np


class ImageEnv(gym.Env):
    """Random images of any shape, dtype and bounds (values: the space's samples, or ``values`` times them);
    episodes of 5 steps, reward 1 for action 1."""

    def __init__(self, shape=(8, 8, 3), dtype=np.uint8, low=0, high=255, values=None) -> None:
        self.observation_space = gym.spaces.Box(low, high, shape, dtype)
        self.action_space = gym.spaces.Discrete(2)
        self.values = values
        self.t = 0

    def _image(self):
        image = self.observation_space.sample()
        return image if self.values is None else (image * self.values).astype(self.observation_space.dtype)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        self.t = 0
        return self._image(), {}

    def step(self, action):
        self.t += 1
        return self._image(), float(action == 1), self.t >= 5, False, {}


IMAGE_ENVS = {
    "ImageEnv": {},
    "HugeImageEnv": {"shape": (300, 300, 3)},
    "GrayImageEnv": {"shape": (12, 9)},  # one channel, no channel axis
    "OddImageEnv": {"shape": (85, 97, 3)},  # large and odd: downsampled
    "TinyImageEnv": {"shape": (1, 1, 1)},
    "ChannelsFirstImageEnv": {"shape": (3, 64, 64)},
    "UnitFloatImageEnv": {"shape": (6, 6, 2), "dtype": np.float32, "low": 0.0, "high": 1.0},
    "ByteFloatImageEnv": {"shape": (6, 6, 2), "dtype": np.float32, "low": 0.0, "high": 255.0},
    "SignedFloatImageEnv": {"shape": (6, 6, 2), "dtype": np.float32, "low": -1.0, "high": 1.0},
    "OutOfBoundsFloatImageEnv": {"shape": (6, 6, 2), "dtype": np.float32, "low": 0.0, "high": 1.0, "values": 255.0},
}
for _name, _kwargs in IMAGE_ENVS.items():
    if f"muzero-test/{_name}-v0" not in gym.registry:
        gym.register(f"muzero-test/{_name}-v0", entry_point=ImageEnv, kwargs=_kwargs, max_episode_steps=50)


class DictCorridorEnv(gym.Env):
    """A user's own environment with a Dict observation and an action mask.

    The agent walks a corridor of 5 cells from cell 0 to the goal at cell 4 (reward 1, the end).
    Actions: 0 left, 1 right, 2 stay; "left" is illegal in cell 0 and published as such in
    ``info["action_mask"]``. The observation mixes Discrete, Box and MultiBinary parts.
    """

    observation_space = gym.spaces.Dict(
        {
            "cell": gym.spaces.Discrete(5),
            "progress": gym.spaces.Box(0.0, 1.0, (1,), np.float32),
            "walls": gym.spaces.MultiBinary(2),
        }
    )
    action_space = gym.spaces.Discrete(3)
    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.cell = 0
        self.illegal_actions_taken = 0

    def _observation(self) -> dict:
        walls = np.array([self.cell == 0, self.cell == 4], np.int8)
        return {"cell": self.cell, "progress": np.array([self.cell / 4], np.float32), "walls": walls}

    def _info(self) -> dict:
        return {"action_mask": np.array([self.cell > 0, True, True], np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.cell = 0
        return self._observation(), self._info()

    def step(self, action):
        if action == 0 and self.cell == 0:
            self.illegal_actions_taken += 1
        self.cell = int(np.clip(self.cell + (-1, 1, 0)[int(action)], 0, 4))
        done = self.cell == 4
        return self._observation(), float(done), done, False, self._info()

    def render(self):
        frame = np.zeros((16, 80, 3), np.uint8)
        frame[:, 16 * self.cell : 16 * (self.cell + 1)] = 255  # the agent's cell, lit
        return frame


class NoLimitEnv(gym.Env):
    """An environment registered without a time limit that never ends by itself."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2, 3), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return np.zeros((2, 3), np.float32), {}

    def step(self, action):
        return np.full((2, 3), 0.5, np.float32), 0.0, False, False, {}


if "muzero-test/DictCorridor-v0" not in gym.registry:
    gym.register("muzero-test/DictCorridor-v0", entry_point=DictCorridorEnv, max_episode_steps=20)
if "muzero-test/NoLimit-v0" not in gym.registry:
    gym.register("muzero-test/NoLimit-v0", entry_point=NoLimitEnv)


class CountingEnv(gym.Env):
    """Observation [episode tag, t]; reward 10 t + action, so a stored row shows whether its observation,
    action and reward belong together. Episodes end after ``length`` steps, terminated when ``length``
    is odd and truncated (by the env itself) when even; each copy's lengths differ (3 + its reset count % 4)."""

    observation_space = gym.spaces.Box(0.0, 1e6, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.t = 0
        self.tag = 0
        self.resets = 0
        self.length = 3

    def _observation(self) -> np.ndarray:
        return np.array([self.tag, self.t], np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self.tag = seed % 1000 * 100
        self.tag += 1
        self.resets += 1
        self.t = 0
        self.length = 3 + self.resets % 4
        return self._observation(), {}

    def step(self, action):
        reward = 10.0 * self.t + int(action)
        self.t += 1
        ended = self.t == self.length
        return self._observation(), reward, ended and self.length % 2 == 1, ended and self.length % 2 == 0, {}
