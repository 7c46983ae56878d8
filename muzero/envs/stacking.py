"""Frame stacking: the newest S frames of an image environment, and optionally the actions that led to them.

One rule, in two places that must agree:

- ``FrameStack`` wraps the environment, so acting, evaluation, rendering and ``agent.predict`` see the
  stacked observation (``env.frame_stack``, ``env.stack_actions``);
- replay stores each step's newest frame once and rebuilds the stack by index when it samples
  (``Stacking``, used by ``muzero.replay.buffer``), so S frames cost the memory of one.

The rule: frames oldest first; before an episode's first frame, that frame repeated (as Gymnasium's
``FrameStackObservation`` pads with ``padding_type="reset"``). With actions, the observation is a
``Tuple`` of the frames and an (S, A) one-hot array of the action that led to each frame, all zeros
for an episode's first frame and for the padding before it. Flattened, an observation is the S frames
one after another, then the S one-hot actions.

Letters: S stacked frames, F values of one flat frame, A actions, D = S * F (+ S * A) flat size.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np


class FrameStack(gym.Wrapper):
    """Observations of the newest ``frames`` frames (see the module's doc); with ``actions``, a ``Tuple`` of the
    frames and the one-hot actions that led to them."""

    def __init__(self, env: gym.Env, frames: int, actions: bool = False) -> None:
        super().__init__(env)
        frame = env.observation_space
        if not isinstance(frame, gym.spaces.Box):
            raise TypeError(f"frame stacking needs Box observations, got {frame}")
        self.frames = frames
        self.num_actions = int(env.action_space.n) if actions else 0
        if frames > 1:
            low = np.broadcast_to(frame.low, (frames, *frame.shape))
            high = np.broadcast_to(frame.high, (frames, *frame.shape))
            stacked: gym.spaces.Box = gym.spaces.Box(low, high, dtype=frame.dtype)
        else:
            stacked = frame
        if actions:
            codes = gym.spaces.Box(0, 1, (frames, self.num_actions), np.uint8)
            self.observation_space = gym.spaces.Tuple((stacked, codes))
        else:
            self.observation_space = stacked
        self._frames: deque[np.ndarray] = deque(maxlen=frames)
        self._actions: deque[int] = deque(maxlen=frames)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        observation, info = self.env.reset(**kwargs)
        self._frames.extend([np.asarray(observation)] * self.frames)
        self._actions.extend([-1] * self.frames)
        return self._observation(), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(np.asarray(observation))
        self._actions.append(int(action))
        return self._observation(), reward, terminated, truncated, info

    def _observation(self) -> Any:
        frames = np.stack(self._frames) if self.frames > 1 else self._frames[0]
        if not self.num_actions:
            return frames
        return frames, one_hot(np.asarray(self._actions), self.num_actions)


def one_hot(actions: np.ndarray, num_actions: int) -> np.ndarray:
    """(..., A) uint8 one-hot codes of ``actions`` (...,); -1 (no action) is all zeros."""
    codes = np.zeros((*actions.shape, num_actions), np.uint8)
    index = np.nonzero(actions >= 0)
    codes[(*index, actions[index])] = 1
    return codes


class Stacking(NamedTuple):
    """How replay takes flat stacked observations apart and puts them back together (the module's rule)."""

    frames: int  # S
    frame_size: int  # F
    num_actions: int = 0  # A when actions are stacked, else 0

    @property
    def size(self) -> int:
        """D, the flat stacked observation."""
        return self.frames * (self.frame_size + self.num_actions)

    def newest(self, observation: np.ndarray) -> np.ndarray:
        """(..., D) flat stacked observations -> (..., F) their newest frames."""
        return observation[..., (self.frames - 1) * self.frame_size : self.frames * self.frame_size]

    def build(self, frames: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(..., S, F) frames and (..., S) the actions that led to them (-1 none) -> (..., D) flat observations."""
        flat = frames.reshape(*frames.shape[:-2], self.frames * self.frame_size)
        if not self.num_actions:
            return flat
        codes = one_hot(actions, self.num_actions).reshape(*actions.shape[:-1], -1)
        return np.concatenate([flat, codes.astype(flat.dtype)], axis=-1)
