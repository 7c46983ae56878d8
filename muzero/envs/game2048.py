"""2048: the sliding-tile game on a 4x4 board, an environment with chance (``muzero/2048-v0``).

Each move slides every tile as far as it goes in one direction (0 up, 1 right, 2 down, 3 left); two
tiles of the same value that meet merge into one of twice the value, each tile at most once a move,
the pair nearest the wall first. The reward is the sum of the merged tiles' new values (the game's
score). A move that changes the board then places a new tile on an empty cell chosen uniformly: a 2
with probability 0.9, else a 4; the game starts with two such tiles. The game ends when no move
changes the board. A move that changes nothing is illegal: ``info["action_mask"]`` marks the legal
ones, and an illegal move played anyway leaves the board as it is with reward 0.

The observation is the board as 16 planes of 4x4, channels last, uint8: plane k is 1 where the tile
is 2^k (plane 0: the empty cells; tiles above 2^15 share plane 15). ``info`` also holds ``score`` (the
game's score so far) and ``max_tile``. The chance of a move is one of at most 32 outcomes (16 cells and
2 tiles), what Stochastic MuZero's codebook of 32 codes models (``network.dynamics=stochastic``); after
each step ``info["chance"]`` names it, 2 * cell + (1 if the tile is a 4 else 0), cells numbered row by
row (0 after an illegal move), which ``network.chance_labels`` (auto: env) learns from.

gymnasium-2048 (0.1.2) was not used: it pins gymnasium 1.3.0 and pygame 2.6.1 and gives no action mask.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

SIZE, PLANES = 4, 16
UP, RIGHT, DOWN, LEFT = range(4)


def slide_row_left(row: np.ndarray) -> tuple[np.ndarray, int]:
    """One row of exponents (0 empty) slid and merged toward index 0 -> (the new row, the score it makes)."""
    tiles = [int(t) for t in row if t]
    out: list[int] = []
    score = 0
    i = 0
    while i < len(tiles):
        if i + 1 < len(tiles) and tiles[i] == tiles[i + 1]:
            out.append(tiles[i] + 1)
            score += 2 ** (tiles[i] + 1)
            i += 2
        else:
            out.append(tiles[i])
            i += 1
    return np.array(out + [0] * (len(row) - len(out)), dtype=row.dtype), score


def slide(board: np.ndarray, action: int) -> tuple[np.ndarray, int]:
    """(4, 4) exponents moved by ``action`` -> (the new board, the move's score); no tile is placed."""
    # Rotate so that the move is a slide to the left, slide each row, rotate back.
    turns = {LEFT: 0, UP: 1, RIGHT: 2, DOWN: 3}[int(action)]
    rotated = np.rot90(board, turns)
    rows, scores = zip(*(slide_row_left(row) for row in rotated), strict=True)
    return np.rot90(np.stack(rows), -turns).copy(), int(sum(scores))


def legal_moves(board: np.ndarray) -> np.ndarray:
    """(4,) int8: 1 where the move changes the board."""
    return np.array([not np.array_equal(slide(board, a)[0], board) for a in range(4)], dtype=np.int8)


def planes(board: np.ndarray) -> np.ndarray:
    """(4, 4) exponents -> (4, 4, 16) uint8 one-hot planes."""
    return np.eye(PLANES, dtype=np.uint8)[np.minimum(board, PLANES - 1)]


class Game2048(gym.Env):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = gym.spaces.Box(0, 1, (SIZE, SIZE, PLANES), np.uint8)
        self.action_space = gym.spaces.Discrete(4)
        self.render_mode = render_mode
        self.board = np.zeros((SIZE, SIZE), np.int64)
        self.score = 0

    def _place_tile(self) -> int:
        """Place a new tile; returns the outcome: 2 * cell + (0 for a 2, 1 for a 4), one of 32."""
        empty = np.flatnonzero(self.board == 0)
        cell = int(self.np_random.choice(empty))
        four = self.np_random.random() >= 0.9
        self.board.flat[cell] = 2 if four else 1
        return 2 * cell + int(four)

    def _info(self, mask: np.ndarray) -> dict[str, Any]:
        return {"action_mask": mask, "score": self.score, "max_tile": int(2 ** self.board.max())}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.board = np.zeros((SIZE, SIZE), np.int64)
        self.score = 0
        self._place_tile()
        self._place_tile()
        return planes(self.board), self._info(legal_moves(self.board))

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        board, reward = slide(self.board, int(action))
        outcome = 0  # an illegal move places nothing: one outcome, labelled as the first
        if np.array_equal(board, self.board):  # illegal: nothing moves, nothing is placed
            reward = 0
        else:
            self.board = board
            outcome = self._place_tile()
            self.score += reward
        mask = legal_moves(self.board)
        info = self._info(mask) | {"chance": outcome}
        return planes(self.board), float(reward), not mask.any(), False, info

    def render(self) -> np.ndarray | str:
        """'ansi': the tiles as text; 'rgb_array': (64, 64, 3), each tile a square brighter the larger it is."""
        if self.render_mode == "ansi":
            return "\n".join(" ".join(f"{2**t if t else '.':>5}" for t in row) for row in self.board) + "\n"
        shade = np.where(self.board > 0, 40 + self.board * 14, 0).clip(0, 255).astype(np.uint8)
        image = np.repeat(np.repeat(shade, 16, axis=0), 16, axis=1)
        image[::16, :] = image[:, ::16] = 90  # grid lines
        return np.stack([image, image, np.where(image > 0, 255 - image, 0).astype(np.uint8)], axis=-1)


def register() -> None:
    if "muzero/2048-v0" not in gym.registry:
        gym.register("muzero/2048-v0", entry_point=Game2048)
