"""The true rules of tic-tac-toe and Connect Four, batched over the flat observations the networks read.

What a search needs of a game to plan with its real rules instead of a learned model (AlphaZero's
search), and what training needs to augment samples by the game's symmetries, read straight off
the encoder's (B, D) vectors (``muzero.envs.spaces.ObservationEncoder`` over ``SelfPlayEnv``'s
observations), so no game object is rebuilt per position:

    flat[b] = planes (H, W, 2) row-major, cell i's channels at 2i (the mover's) and 2i + 1 (the other's),
              then to_play one-hot (2)                                     D = H * W * 2 + 2

Both games add one piece per move and are won by the first line of ``line_length`` of one's own
pieces: tic-tac-toe's moves are its cells (row by row), Connect Four's its columns, the piece
falling to the lowest empty cell. ``step`` returns the position from the next mover's perspective,
as PettingZoo observes it (planes swapped, to_play flipped), the reward of the move for its mover
(+1 for a win, else 0) and whether the game is over (a win or a full board); tests play the
PettingZoo games and these rules side by side.

Letters: B batch, D flat observation size, A actions, C cells (H * W), M winning lines.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from muzero.envs.games.aec import GAMES, short_name
from muzero.envs.games.symmetries import Symmetries, mirror_symmetries, square_symmetries

CHANNELS = 2  # the mover's pieces, the other player's
TRAILING = 2  # the one-hot player to move after the planes


class RulesStep(NamedTuple):
    observation: np.ndarray  # (B, D) float32: the next position, from the next mover's perspective
    reward: np.ndarray  # (B,) float32: +1 where the move won for its mover, else 0
    terminal: np.ndarray  # (B,) bool: the game is over (a win or a full board)


def board_lines(rows: int, columns: int, length: int) -> np.ndarray:
    """(M, length) flat cell indices of every straight line of ``length`` cells: rows, columns, both diagonals."""
    lines = []
    for r in range(rows):
        for c in range(columns):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                end_r, end_c = r + (length - 1) * dr, c + (length - 1) * dc
                if 0 <= end_r < rows and 0 <= end_c < columns:
                    lines.append([(r + i * dr) * columns + c + i * dc for i in range(length)])
    return np.array(lines, np.int64)


class GameRules:
    """A placement game on a rows x columns board: one piece per move, the first line of ``line_length`` wins.

    ``gravity``: a move names a column and the piece falls to its lowest empty cell (Connect Four);
    otherwise a move names a cell. ``symmetries`` is the game's group (``muzero.envs.games.symmetries``).
    """

    def __init__(self, rows: int, columns: int, line_length: int, gravity: bool, symmetries: Symmetries) -> None:
        self.rows, self.columns, self.gravity = rows, columns, gravity
        self.num_cells = rows * columns
        self.num_actions = columns if gravity else self.num_cells
        self.observation_size = self.num_cells * CHANNELS + TRAILING
        self.lines = board_lines(rows, columns, line_length)  # (M, line_length)
        self.symmetries = symmetries

    def planes(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, C) the mover's pieces and (B, C) the other player's, as bools."""
        observations = np.asarray(observations)
        if observations.ndim != 2 or observations.shape[1] != self.observation_size:
            raise ValueError(f"expected (B, {self.observation_size}) flat observations, got {observations.shape}")
        cells = observations[:, : self.num_cells * CHANNELS].reshape(-1, self.num_cells, CHANNELS) > 0.5
        return cells[..., 0], cells[..., 1]

    def legal(self, observations: np.ndarray) -> np.ndarray:
        """(B, A) bool: the empty cells, or the columns whose top cell is empty; as PettingZoo's action mask,
        also once the game is over."""
        own, other = self.planes(observations)
        empty = ~(own | other)
        return empty.reshape(-1, self.rows, self.columns)[:, 0] if self.gravity else empty

    def has_line(self, pieces: np.ndarray) -> np.ndarray:
        """(B,) whether the (B, C) pieces hold a whole line."""
        return pieces[:, self.lines].all(axis=2).any(axis=1)

    def terminal(self, observations: np.ndarray) -> np.ndarray:
        """(B,) whether the game is over: the player who just moved (the other's plane) has a line, or no cell
        is empty."""
        own, other = self.planes(observations)
        return self.has_line(other) | (own | other).all(axis=1)

    def target_cells(self, observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B,) the cell each move fills and (B,) whether the move is legal (an illegal one fills nothing)."""
        actions = np.asarray(actions, np.int64)
        rows = np.arange(len(actions))
        legal = self.legal(observations)[rows, actions]
        if not self.gravity:
            return actions, legal
        own, other = self.planes(observations)
        column = (own | other).reshape(-1, self.rows, self.columns)[rows, :, actions]  # (B, rows) filled cells
        landing = np.maximum(self.rows - 1 - column.sum(axis=1), 0)  # pieces stack from the bottom row up
        return landing * self.columns + actions, legal

    def step(self, observations: np.ndarray, actions: np.ndarray) -> RulesStep:
        """Play ``actions`` (B,) in ``observations`` (B, D). An illegal move places no piece (the position
        passes to the other player unchanged, reward 0); callers that allow them decide what they cost."""
        observations = np.asarray(observations)
        own, other = self.planes(observations)
        cell, legal = self.target_cells(observations, actions)
        placed = own.copy()
        placed[np.arange(len(cell)), cell] |= legal
        # The next mover's perspective: their pieces (the other's) first, the mover's second; to_play flipped.
        planes = np.stack([other, placed], axis=2).reshape(len(cell), -1)
        to_play = observations[:, -TRAILING:][:, ::-1]
        next_observations = np.concatenate([planes, to_play], axis=1).astype(np.float32)
        won = self.has_line(placed) & legal
        full = (placed | other).all(axis=1)
        return RulesStep(next_observations, won.astype(np.float32), won | full)


TICTACTOE = GameRules(3, 3, 3, gravity=False, symmetries=square_symmetries(3, CHANNELS, TRAILING))
CONNECT_FOUR = GameRules(6, 7, 4, gravity=True, symmetries=mirror_symmetries(6, 7, CHANNELS, TRAILING))
RULES = {"tictactoe_v3": TICTACTOE, "connect_four_v3": CONNECT_FOUR}


def rules_for(env_id: str | None) -> GameRules | None:
    """The rules of a game by its short id or its module path (``pettingzoo.classic.tictactoe_v3``); None for
    every other environment (single-player ones, and games whose rules muzero does not know)."""
    if env_id is None:
        return None
    name = short_name(env_id)
    return RULES[name] if name in RULES and env_id in (name, GAMES[name]) else None
