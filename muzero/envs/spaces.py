"""From Gymnasium spaces to what the networks read: one flat float vector per observation.

Every observation space Gymnasium has that is not an image is flattened with Gymnasium's own
space utilities: a ``Box`` of any shape is flattened, ``Discrete`` becomes a one-hot vector,
``MultiDiscrete`` one one-hot block per component, ``MultiBinary`` its bits, and ``Tuple`` and
``Dict`` the concatenation of their parts. Training, evaluation and ``agent.predict`` all go
through ``ObservationEncoder``, so an observation is converted the same way everywhere and a
user never flattens by hand.

Letters: B batch, D flat observation size.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from muzero.errors import EnvironmentNotSupported
from muzero.model.resnet import PlaneLayout

SUPPORTED = (
    "muzero supports Discrete action spaces with Box (any shape, not images), Discrete, MultiDiscrete, "
    "MultiBinary, Tuple or Dict observations"
)


def check_action_space(name: str, space: gym.Space) -> int:
    """The number of actions of a ``Discrete`` action space; anything else is refused."""
    if not isinstance(space, gym.spaces.Discrete):
        raise EnvironmentNotSupported(f"{name} has action space {space}; {SUPPORTED}.")
    if space.start != 0:
        raise EnvironmentNotSupported(f"{name} has actions starting at {space.start}; muzero expects actions 0..n-1.")
    return int(space.n)


def is_image_space(space: gym.Space) -> bool:
    """A Box of uint8 pixels with two or three axes (Gymnasium's own heuristic for images)."""
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3)


def check_observation_space(name: str, space: gym.Space) -> None:
    """Refuse what cannot be flattened into a vector: images and variable-size spaces."""
    if is_image_space(space):
        raise EnvironmentNotSupported(
            f"{name} has image observations {space}; image observations are not supported yet "
            f"(they need a convolutional representation network). {SUPPORTED}."
        )
    if isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        for part in space.spaces.values() if isinstance(space, gym.spaces.Dict) else space.spaces:
            check_observation_space(name, part)
        return
    if not isinstance(space, gym.spaces.Box | gym.spaces.Discrete | gym.spaces.MultiDiscrete | gym.spaces.MultiBinary):
        raise EnvironmentNotSupported(f"{name} has observation space {space}; {SUPPORTED}.")


def plane_layout(space: gym.Space) -> PlaneLayout | None:
    """Where the observation's grid of planes lies in its flat vector, or None when it has none.

    A grid is a ``Box`` of rank 3 read as (height, width, channels), channels last as PettingZoo's board
    planes are: the whole observation, or the one such part of a ``Dict`` or ``Tuple`` (whose other parts,
    such as the player to move, the residual network broadcasts as constant planes).
    """
    size = int(gym.spaces.flatdim(space))
    if isinstance(space, gym.spaces.Box):
        return PlaneLayout(*map(int, space.shape), offset=0, size=size) if len(space.shape) == 3 else None
    if not isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        return None
    parts = space.spaces.values() if isinstance(space, gym.spaces.Dict) else space.spaces
    grids, offset = [], 0
    for part in parts:  # the order gymnasium's flatten concatenates them in
        if isinstance(part, gym.spaces.Box) and len(part.shape) == 3:
            grids.append(PlaneLayout(*map(int, part.shape), offset=offset, size=size))
        offset += int(gym.spaces.flatdim(part))
    return grids[0] if len(grids) == 1 else None


class ObservationEncoder:
    """Converts an environment's own observations (one, or a batch) into (B, D) float32 vectors."""

    def __init__(self, space: gym.Space) -> None:
        self.space = space
        self.flat_space = gym.spaces.flatten_space(space)
        self.size = int(self.flat_space.shape[0])

    def encode(self, observation: Any) -> np.ndarray:
        """(D,) the flat vector of one observation."""
        return np.asarray(gym.spaces.flatten(self.space, observation), np.float32).reshape(self.size)

    def encode_batch(self, observations: Any) -> tuple[np.ndarray, bool]:
        """(B, D) vectors and whether the input was a single observation (B = 1 then).

        A batch is a sequence of observations, or for Box, Discrete, MultiDiscrete and
        MultiBinary spaces an array with one more leading axis than a single observation.
        """
        if self.is_single(observations):
            return self.encode(observations)[None], True
        return np.stack([self.encode(o) for o in self._items(observations)]).astype(np.float32), False

    def is_single(self, observation: Any) -> bool:
        return _is_single(self.space, observation)

    def _items(self, observations: Any) -> list[Any]:
        if isinstance(self.space, gym.spaces.Dict) and isinstance(observations, dict):  # a dict of batched arrays
            size = len(next(iter(observations.values())))
            return [{k: v[i] for k, v in observations.items()} for i in range(size)]
        return list(observations)


def _is_single(space: gym.Space, observation: Any) -> bool:
    """Whether ``observation`` is one observation of ``space`` (rather than a batch of them)."""
    if isinstance(space, gym.spaces.Dict):
        if isinstance(observation, dict):  # one observation, or a dict of batched arrays
            key = next(iter(space.spaces))
            return _is_single(space.spaces[key], observation[key])
        return False
    if isinstance(space, gym.spaces.Tuple):  # a tuple is one observation; a list of tuples a batch
        return (
            isinstance(observation, tuple)
            and len(observation) == len(space.spaces)
            and _is_single(space.spaces[0], observation[0])
        )
    if isinstance(space, gym.spaces.Discrete):
        return np.ndim(observation) == 0
    shape = space.shape
    array = np.asarray(observation)
    if array.shape == shape:
        return True
    if array.ndim == len(shape) + 1 and array.shape[1:] == shape:
        return False
    raise ValueError(f"observation of shape {array.shape} fits neither {shape} nor a batch of {shape}")


def space_to_plain(space: gym.Space) -> dict[str, Any]:
    """A supported observation space as plain data (lists, numbers, strings), for checkpoints.

    A checkpoint that records its observation space lets ``MuZero.load`` convert observations for
    ``predict`` without making the environment.
    """
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "start": space.start.tolist()}
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.atleast_1d(space.n).tolist()}
    if isinstance(space, gym.spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_plain(part) for part in space.spaces]}
    if isinstance(space, gym.spaces.Dict):
        return {
            "type": "Dict",
            "keys": list(space.spaces),
            "spaces": [space_to_plain(p) for p in space.spaces.values()],
        }
    raise EnvironmentNotSupported(f"cannot record observation space {space}; {SUPPORTED}.")


def space_from_plain(data: dict[str, Any]) -> gym.Space:
    """The inverse of ``space_to_plain``."""
    kind = data["type"]
    if kind == "Box":
        dtype = np.dtype(data["dtype"])
        low = np.asarray(data["low"], dtype).reshape(data["shape"])
        high = np.asarray(data["high"], dtype).reshape(data["shape"])
        return gym.spaces.Box(low, high, dtype=dtype)
    if kind == "Discrete":
        return gym.spaces.Discrete(int(data["n"]), start=int(data["start"]))
    if kind == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(np.asarray(data["nvec"]), start=np.asarray(data["start"]))
    if kind == "MultiBinary":
        n = [int(x) for x in np.asarray(data["n"]).reshape(-1)]
        return gym.spaces.MultiBinary(n[0] if len(n) == 1 else n)
    if kind == "Tuple":
        return gym.spaces.Tuple([space_from_plain(part) for part in data["spaces"]])
    if kind == "Dict":
        return gym.spaces.Dict(
            {key: space_from_plain(part) for key, part in zip(data["keys"], data["spaces"], strict=True)}
        )
    raise ValueError(f"unknown space type {kind!r}")
