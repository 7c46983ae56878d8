"""A board game's symmetry group, written as index permutations of flat observations and of actions.

A symmetry of a game maps every position to one that plays exactly alike: the same value, the
same legal moves (renamed), the same outcome after the renamed moves. Tic-tac-toe has the eight
symmetries of the square, Connect Four (pieces fall down, so no rotation) the left-right mirror.
Training on a random image of each sample multiplies the data by the group's size for free.

Element g is two gather indices, so applying it to a whole batch is one fancy-indexing call:

    observation'  = observation[..., observation_index[g]]     (D,): cells moved, to_play kept
    per-action'   = per_action[..., action_index[g]]           (A,): policies, legal masks
    action'       = action_map[g][action]                      an action's value renamed

Element 0 is always the identity. The flat layout is the encoder's (``muzero.envs.spaces``):
the planes in row-major (H, W, C) order, cell i's C channels at i*C .. i*C+C-1, then whatever
trails them (the one-hot player to move), which no symmetry touches.

Letters: G group size, D flat observation size, A actions, C cells (H * W).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Symmetries(NamedTuple):
    """A symmetry group as gather indices; element 0 is the identity."""

    observation_index: np.ndarray  # (G, D) int64: observation' = observation[observation_index[g]]
    action_index: np.ndarray  # (G, A) int64: per_action' = per_action[action_index[g]]

    @property
    def size(self) -> int:
        return len(self.observation_index)

    @property
    def action_map(self) -> np.ndarray:
        """(G, A) where each action goes: the inverse of ``action_index`` (a move a becomes action_map[g, a])."""
        return np.argsort(self.action_index, axis=1)

    def observations(self, observations: np.ndarray, element: np.ndarray) -> np.ndarray:
        """(B, ..., D) observations, row b moved by element[b] (B,)."""
        index = self.observation_index[element]  # (B, D)
        index = index.reshape(index.shape[:1] + (1,) * (observations.ndim - 2) + index.shape[1:])
        return np.take_along_axis(observations, np.broadcast_to(index, observations.shape), axis=-1)

    def per_action(self, values: np.ndarray, element: np.ndarray) -> np.ndarray:
        """(B, ..., A) per-action arrays (policies, legal masks), row b moved by element[b] (B,)."""
        index = self.action_index[element]  # (B, A)
        index = index.reshape(index.shape[:1] + (1,) * (values.ndim - 2) + index.shape[1:])
        return np.take_along_axis(values, np.broadcast_to(index, values.shape), axis=-1)

    def actions(self, actions: np.ndarray, element: np.ndarray) -> np.ndarray:
        """(B, K) actions renamed by element[b] (B,): the move that plays as actions[b, k] does on the image."""
        return np.take_along_axis(self.action_map[element], actions, axis=1)


def board_symmetries(cell_sources: np.ndarray, action_sources: np.ndarray, channels: int, trailing: int) -> Symmetries:
    """The group whose element g fills board cell i from cell ``cell_sources[g, i]`` (G, C) and action slot a
    from ``action_sources[g, a]`` (G, A); each cell's ``channels`` move together, the last ``trailing``
    entries of an observation stay where they are."""
    cells = np.asarray(cell_sources, np.int64)
    planes = (cells[:, :, None] * channels + np.arange(channels)).reshape(len(cells), -1)  # (G, C * channels)
    kept = np.broadcast_to(planes.shape[1] + np.arange(trailing), (len(cells), trailing))
    return Symmetries(np.concatenate([planes, kept], axis=1), np.asarray(action_sources, np.int64))


def square_symmetries(size: int, channels: int = 2, trailing: int = 2) -> Symmetries:
    """The eight symmetries of a size x size board whose moves are its cells (tic-tac-toe): four rotations,
    each with and without a mirror, the identity first."""
    grid = np.arange(size * size).reshape(size, size)
    images = [np.rot90(grid, k) for k in range(4)] + [np.fliplr(np.rot90(grid, k)) for k in range(4)]
    sources = np.stack([image.reshape(-1) for image in images])
    return board_symmetries(sources, sources, channels, trailing)


def mirror_symmetries(rows: int, columns: int, channels: int = 2, trailing: int = 2) -> Symmetries:
    """The identity and the left-right mirror of a board whose moves are its columns (Connect Four)."""
    grid = np.arange(rows * columns).reshape(rows, columns)
    cells = np.stack([grid.reshape(-1), np.fliplr(grid).reshape(-1)])
    moves = np.stack([np.arange(columns), np.arange(columns)[::-1]])
    return board_symmetries(cells, moves, channels, trailing)


def compose(symmetries: Symmetries, first: int, then: int) -> tuple[np.ndarray, np.ndarray]:
    """The (D,) and (A,) gather indices of applying element ``first``, then element ``then``."""
    return (
        symmetries.observation_index[first][symmetries.observation_index[then]],
        symmetries.action_index[first][symmetries.action_index[then]],
    )
