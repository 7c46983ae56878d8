"""From Gymnasium spaces to what the networks read: one flat vector per observation.

Every observation space is flattened with Gymnasium's own space utilities: a ``Box`` of any shape
is flattened, ``Discrete`` becomes a one-hot vector, ``MultiDiscrete`` one one-hot block per
component, ``MultiBinary`` its bits, and ``Tuple`` and ``Dict`` the concatenation of their parts.
Training, evaluation and ``agent.predict`` all go through ``ObservationEncoder``, so an observation
is converted the same way everywhere and a user never flattens by hand.

Grids and images. ``plane_layout`` tells where a grid of planes lies in the flat vector, for the
residual network (``muzero.model.resnet``):

- an *image* is a whole observation that is a ``Box`` of uint8 or bool values of rank 2 (H, W: one
  channel) or rank 3, or a float ``Box`` of rank 3 with finite bounds. Its channels are last or first
  (``env.image_channels``); the network scales it by 1 / max(|low|, |high|) (uint8 pixels: 1/255, bool
  and [0, 1] floats: 1), and stacks of its frames can be read (``env.frame_stack``). uint8 and bool
  images travel and are stored as uint8 (``storage_dtype``), everything else as float32;
- *board planes* are a ``Box`` of rank 3 of any other kind, channels last: the whole observation, or
  the one such part of a ``Dict`` or ``Tuple`` (PettingZoo's games), whose other parts become
  constant planes.

Letters: B batch, D flat observation size.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from muzero.errors import EnvironmentNotSupported
from muzero.model.resnet import PlaneLayout

SUPPORTED = (
    "muzero supports Discrete action spaces with Box (any shape, images included), Discrete, MultiDiscrete, "
    "MultiBinary, Tuple or Dict observations"
)
MAX_IMAGE_SIDE = 256  # larger images are refused with a pointer to ResizeObservation
PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.bool_))


def check_action_space(name: str, space: gym.Space) -> int:
    """The number of actions of a ``Discrete`` action space; anything else is refused."""
    if not isinstance(space, gym.spaces.Discrete):
        raise EnvironmentNotSupported(f"{name} has action space {space}; {SUPPORTED}.")
    if space.start != 0:
        raise EnvironmentNotSupported(f"{name} has actions starting at {space.start}; muzero expects actions 0..n-1.")
    return int(space.n)


def is_image_space(space: gym.Space) -> bool:
    """An image (see the module's doc): a Box of uint8 or bool of rank 2 or 3, or a float Box of rank 3 with
    finite bounds."""
    if not isinstance(space, gym.spaces.Box):
        return False
    rank = len(space.shape)
    if space.dtype in PIXEL_DTYPES:
        return rank in (2, 3)
    bounded = bool(np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)))
    return rank == 3 and np.issubdtype(space.dtype, np.floating) and bounded


def image_shape(space: gym.Box, channels: str = "auto") -> tuple[int, int, int, bool]:
    """(H, W, C, channels_first) of an image space (``channels``: 'auto', 'first' or 'last')."""
    shape = tuple(int(n) for n in space.shape)
    if len(shape) == 2:
        return shape[0], shape[1], 1, False
    if channels == "auto":
        # Square images are told by their square: (H, H, C) is channels last, (C, H, H) first (a 4x4 board of 16
        # planes has more channels than rows); otherwise the channels are the shorter end axis.
        if shape[0] == shape[1] != shape[2]:
            first = False
        elif shape[1] == shape[2] != shape[0]:
            first = True
        else:
            first = shape[0] < shape[-1]
    else:
        first = channels == "first"
    if first:
        return shape[1], shape[2], shape[0], True
    return shape[0], shape[1], shape[2], False


def image_scale(space: gym.Box) -> float:
    """What the network multiplies an image by: 1 / max(|low|, |high|), so that values lie in [-1, 1]."""
    if space.dtype == np.bool_:
        return 1.0
    largest = float(max(np.abs(space.low).max(), np.abs(space.high).max()))
    return 1.0 / largest if largest > 0 else 1.0


def storage_dtype(space: gym.Space) -> np.dtype:
    """How flat observations of ``space`` travel and are stored: uint8 for uint8 or bool values (pixels,
    object masks), float32 for everything else."""
    flat = gym.spaces.flatten_space(space)
    return np.dtype(np.uint8) if flat.dtype in PIXEL_DTYPES else np.dtype(np.float32)


def check_observation_space(name: str, space: gym.Space, channels: str = "auto") -> None:
    """Refuse what cannot be flattened into a vector (variable-size spaces) and images too large to learn from."""
    if is_image_space(space):
        height, width, _, _ = image_shape(space, channels)
        if max(height, width) > MAX_IMAGE_SIDE:
            raise EnvironmentNotSupported(
                f"{name} has {height}x{width} images; muzero takes images of at most {MAX_IMAGE_SIDE} pixels a side: "
                f"resize them, e.g. gymnasium.wrappers.ResizeObservation(env, (84, 84))"
            )
        return
    if isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        for part in space.spaces.values() if isinstance(space, gym.spaces.Dict) else space.spaces:
            check_observation_space(name, part)
        return
    if not isinstance(space, gym.spaces.Box | gym.spaces.Discrete | gym.spaces.MultiDiscrete | gym.spaces.MultiBinary):
        raise EnvironmentNotSupported(f"{name} has observation space {space}; {SUPPORTED}.")


def plane_layout(
    space: gym.Space, frames: int = 1, channels: str = "auto", stacked_actions: bool = False
) -> PlaneLayout | None:
    """Where the observation's grid of planes lies in its flat vector, or None when it has none.

    A grid is an image or board planes (see the module's doc): the whole observation, or the one grid of a
    ``Dict`` or ``Tuple`` (whose other parts, such as the player to move or stacked actions, the residual
    network broadcasts as constant planes). With ``frames`` > 1 the grid is a stack of frames
    (``muzero.envs.stacking``), a Box of shape (frames, *frame); with ``stacked_actions`` the space is
    ``FrameStack``'s Tuple of the frames and their actions, and the frames are read as a whole observation.
    """
    size = int(gym.spaces.flatdim(space))
    if isinstance(space, gym.spaces.Box):
        return _grid(space, frames, channels, 0, size, whole=True)
    if stacked_actions and isinstance(space, gym.spaces.Tuple):
        return _grid(space.spaces[0], frames, channels, 0, size, whole=True)
    if not isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        return None
    parts = space.spaces.values() if isinstance(space, gym.spaces.Dict) else space.spaces
    grids, offset = [], 0
    for part in parts:  # the order gymnasium's flatten concatenates them in
        if isinstance(part, gym.spaces.Box) and (grid := _grid(part, frames, channels, offset, size)) is not None:
            grids.append(grid)
        offset += int(gym.spaces.flatdim(part))
    return grids[0] if len(grids) == 1 else None


def frame_space(space: gym.Box, frames: int) -> gym.Box:
    """One frame's space of a Box of ``frames`` stacked frames (the space itself when ``frames`` is 1)."""
    if frames == 1:
        return space
    return gym.spaces.Box(space.low[0], space.high[0], dtype=space.dtype)


def _grid(box: gym.Box, frames: int, channels: str, offset: int, size: int, whole: bool = False) -> PlaneLayout | None:
    """The layout of ``box`` at ``offset``: an image when it is the whole observation (``whole``), else board planes."""
    if frames > 1 and (len(box.shape) < 3 or box.shape[0] != frames):
        return None
    frame = frame_space(box, frames)
    if whole and is_image_space(frame):
        height, width, depth, first = image_shape(frame, channels)
        return PlaneLayout(height, width, depth, offset, size, frames, first, image_scale(frame), image=True)
    if len(frame.shape) != 3:
        return None
    return PlaneLayout(*map(int, frame.shape), offset=offset, size=size, frames=frames)


class ObservationEncoder:
    """Converts an environment's own observations (one, or a batch) into (B, D) vectors of ``storage_dtype``
    (float32, or uint8 for pixels)."""

    def __init__(self, space: gym.Space) -> None:
        self.space = space
        self.flat_space = gym.spaces.flatten_space(space)
        self.size = int(self.flat_space.shape[0])
        self.dtype = storage_dtype(space)

    def encode(self, observation: Any) -> np.ndarray:
        """(D,) the flat vector of one observation."""
        return np.asarray(gym.spaces.flatten(self.space, observation), self.dtype).reshape(self.size)

    def encode_batch(self, observations: Any) -> tuple[np.ndarray, bool]:
        """(B, D) vectors and whether the input was a single observation (B = 1 then).

        A batch is a sequence of observations, or for Box, Discrete, MultiDiscrete and
        MultiBinary spaces an array with one more leading axis than a single observation.
        """
        if self.is_single(observations):
            return self.encode(observations)[None], True
        return np.stack([self.encode(o) for o in self._items(observations)]).astype(self.dtype), False

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
