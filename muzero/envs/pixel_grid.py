"""PixelGrid: a small gridworld seen only as a grayscale image, the smallest environment that needs pixels.

The agent (a bright square) walks a ``size`` x ``size`` grid to a goal (a dimmer square) in the far
corner, starting anywhere else (with ``random_goal``, the goal too is placed at random at each reset,
which is much harder to learn). Actions: 0 up, 1 right, 2 down, 3 left (walking into a wall stays
put). Reward 1 on reaching the goal, which ends the episode, plus ``shaping`` times the decrease of
the distance to the goal on every step (0 by default); an episode is cut after 16 steps (the
registered limit). The observation is a (size * cell, size * cell) uint8 image without a channel axis
(0 background, 128 goal, 255 agent), so that the network must find both squares in the pixels.
``muzero train --env muzero/PixelGrid-v0`` trains on it; tests/test_images.py checks that it is learned.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])
AGENT, GOAL = 255, 128


class PixelGrid(gym.Env):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        size: int = 4,
        cell: int = 2,
        shaping: float = 0.0,
        random_goal: bool = False,
        render_mode: str | None = None,
    ) -> None:
        self.size, self.cell, self.shaping, self.random_goal = size, cell, shaping, random_goal
        side = size * cell
        self.observation_space = gym.spaces.Box(0, 255, (side, side), np.uint8)
        self.action_space = gym.spaces.Discrete(4)
        self.render_mode = render_mode
        self.agent = np.zeros(2, np.int64)
        self.goal = np.zeros(2, np.int64)

    def _image(self) -> np.ndarray:
        image = np.zeros(self.observation_space.shape, np.uint8)
        for (row, column), shade in ((self.goal, GOAL), (self.agent, AGENT)):
            image[row * self.cell : (row + 1) * self.cell, column * self.cell : (column + 1) * self.cell] = shade
        return image

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        last = self.size * self.size - 1
        if self.random_goal:
            cells = self.np_random.choice(self.size * self.size, size=2, replace=False)
        else:  # the goal in the far corner, the agent anywhere else
            cells = [int(self.np_random.integers(0, last)), last]
        self.agent = np.array(divmod(int(cells[0]), self.size))
        self.goal = np.array(divmod(int(cells[1]), self.size))
        return self._image(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        before = np.abs(self.agent - self.goal).sum()
        self.agent = np.clip(self.agent + MOVES[int(action)], 0, self.size - 1)
        after = np.abs(self.agent - self.goal).sum()
        reached = bool(after == 0)
        return self._image(), float(reached) + self.shaping * float(before - after), reached, False, {}

    def render(self) -> np.ndarray:
        """The image as (H, W, 3) RGB (``muzero.app.render`` enlarges it for a GIF)."""
        return np.repeat(self._image()[:, :, None], 3, axis=2)


def register() -> None:
    if "muzero/PixelGrid-v0" not in gym.registry:
        gym.register("muzero/PixelGrid-v0", entry_point=PixelGrid, max_episode_steps=16)
