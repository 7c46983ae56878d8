"""Opponents of known strength: random, win-or-block, perfect tic-tac-toe and alpha-beta for Connect Four.

Every opponent sees what the agent sees, the board from the mover's perspective as PettingZoo gives
it (planes [..., 0] the mover's pieces, [..., 1] the other player's) and the legal moves, and picks
uniformly at random among the moves it values equally, so games against it vary.

- ``WinOrBlock`` (``winblock``, both games): alpha-zero-general's one-step lookahead player. It plays a
  winning move if it has one, else blocks a move that would win for the other player at once, else plays
  at random: the weakest player that punishes a blunder and sees a one-move threat.
- ``PerfectTicTacToe``: exhaustive negamax over every position reachable from the board (at most
  5,478 legal positions in all, memoised), so it never loses; tic-tac-toe is a draw with perfect play.
- ``AlphaBetaConnectFour``: depth-limited negamax with alpha-beta pruning. ``depth`` counts plies
  (depth 2: its own move and every reply). Positions at the horizon are scored by a heuristic over
  the 69 lines of four cells: each line that only one player occupies is worth 1, 10 or 100 to that
  player for 1, 2 or 3 pieces, and each piece in the centre column 3. A win is worth more than any
  heuristic score, and sooner wins more than later ones.
"""

from __future__ import annotations

from functools import cache

import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# Tic-tac-toe: cells 0..8 row by row (PettingZoo's action numbering), a position is two 9-bit masks.

TTT_LINES = tuple(
    sum(1 << cell for cell in line)
    for line in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
)
TTT_FULL = (1 << 9) - 1


def ttt_has_line(bits: int) -> bool:
    return any(bits & line == line for line in TTT_LINES)


@cache
def ttt_value(own: int, other: int) -> int:
    """Game value for the player to move (+1 win, 0 draw, -1 loss) with perfect play by both."""
    if ttt_has_line(other):
        return -1
    empty = TTT_FULL & ~(own | other)
    if not empty:
        return 0
    return max(-ttt_value(other, own | (1 << cell)) for cell in range(9) if empty >> cell & 1)


def ttt_move_values(own: int, other: int) -> dict[int, int]:
    """Each legal move's value for the player to move."""
    empty = TTT_FULL & ~(own | other)
    values = {}
    for cell in range(9):
        if empty >> cell & 1:
            after = own | (1 << cell)
            values[cell] = 1 if ttt_has_line(after) else -ttt_value(other, after)
    return values


def ttt_winning_moves(own: int, other: int) -> list[int]:
    """The empty cells that complete a line of ``own`` at once."""
    empty = TTT_FULL & ~(own | other)
    return [cell for cell in range(9) if empty >> cell & 1 and ttt_has_line(own | 1 << cell)]


def ttt_bits(planes: np.ndarray) -> tuple[int, int]:
    """(mover's mask, other's mask) of a (3, 3, 2) board."""
    flat = np.asarray(planes).reshape(9, 2)
    own = sum(1 << i for i in range(9) if flat[i, 0])
    other = sum(1 << i for i in range(9) if flat[i, 1])
    return own, other


# ----------------------------------------------------------------------------------------------------------------
# Connect Four: 6 rows (row 0 on top, pieces fall to row 5) by 7 columns; a move is a column.

C4_ROWS, C4_COLS = 6, 7
C4_WIN = 1_000_000
C4_LINE_WEIGHTS = np.array([0, 1, 10, 100, 0])  # by pieces in a line that only one player occupies
C4_CENTRE_WEIGHT = 3
C4_ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre first: better pruning


def _c4_lines() -> np.ndarray:
    lines = []
    for r in range(C4_ROWS):
        for c in range(C4_COLS):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(4)]
                if all(0 <= rr < C4_ROWS and 0 <= cc < C4_COLS for rr, cc in cells):
                    lines.append([rr * C4_COLS + cc for rr, cc in cells])
    return np.array(lines)


C4_LINES = _c4_lines()  # (69, 4) flat cell indices


def c4_board(planes: np.ndarray) -> np.ndarray:
    """(6, 7) int8 board from the mover's planes: +1 the mover's pieces, -1 the other's, 0 empty."""
    planes = np.asarray(planes)
    return (planes[..., 0].astype(np.int8) - planes[..., 1].astype(np.int8)).reshape(C4_ROWS, C4_COLS)


def c4_drop_row(board: np.ndarray, column: int) -> int:
    """The row a piece dropped in ``column`` lands on, -1 if the column is full."""
    for row in range(C4_ROWS - 1, -1, -1):
        if board[row, column] == 0:
            return row
    return -1


def c4_wins(board: np.ndarray, row: int, column: int) -> bool:
    """Whether the piece at (row, column) completes four in a line for its owner."""
    piece = board[row, column]
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        count = 1
        for sign in (1, -1):
            r, c = row + sign * dr, column + sign * dc
            while 0 <= r < C4_ROWS and 0 <= c < C4_COLS and board[r, c] == piece:
                count += 1
                r, c = r + sign * dr, c + sign * dc
        if count >= 4:
            return True
    return False


def c4_winning_moves(board: np.ndarray) -> list[int]:
    """The columns where a +1 piece dropped now completes four in a line."""
    board = board.copy()
    wins = []
    for column in range(C4_COLS):
        row = c4_drop_row(board, column)
        if row < 0:
            continue
        board[row, column] = 1
        if c4_wins(board, row, column):
            wins.append(column)
        board[row, column] = 0
    return wins


def c4_heuristic(board: np.ndarray) -> float:
    """Score of a position for the player whose pieces are +1 (see the module's doc)."""
    cells = board.reshape(-1)[C4_LINES]  # (69, 4)
    own = (cells == 1).sum(axis=1)
    other = (cells == -1).sum(axis=1)
    score = C4_LINE_WEIGHTS[np.where(other == 0, own, 0)].sum() - C4_LINE_WEIGHTS[np.where(own == 0, other, 0)].sum()
    centre = board[:, C4_COLS // 2]
    return float(score + C4_CENTRE_WEIGHT * (int((centre == 1).sum()) - int((centre == -1).sum())))


def c4_negamax(board: np.ndarray, depth: int, alpha: float, beta: float) -> float:
    """Value of ``board`` for the player to move (+1 pieces), searching ``depth`` plies with alpha-beta."""
    best = -np.inf
    any_move = False
    for column in C4_ORDER:
        row = c4_drop_row(board, column)
        if row < 0:
            continue
        any_move = True
        board[row, column] = 1
        if c4_wins(board, row, column):
            value = C4_WIN + depth  # sooner wins score higher
        elif depth <= 1:
            value = c4_heuristic(board)
        elif not (board[0] == 0).any():
            value = 0.0
        else:
            value = -c4_negamax(-board, depth - 1, -beta, -alpha)
        board[row, column] = 0
        best = max(best, value)
        alpha = max(alpha, value)
        if alpha >= beta:
            break
    return best if any_move else 0.0


def c4_move_values(board: np.ndarray, depth: int) -> dict[int, float]:
    """Each legal column's exact depth-limited negamax value for the player to move."""
    board = board.copy()
    values = {}
    for column in range(C4_COLS):
        row = c4_drop_row(board, column)
        if row < 0:
            continue
        board[row, column] = 1
        if c4_wins(board, row, column):
            values[column] = C4_WIN + depth
        elif depth <= 1:
            values[column] = c4_heuristic(board)
        elif not (board[0] == 0).any():
            values[column] = 0.0
        else:
            values[column] = -c4_negamax(-board, depth - 1, -np.inf, np.inf)
        board[row, column] = 0
    return values


# ----------------------------------------------------------------------------------------------------------------


class Opponent:
    """A player: ``act(planes, legal, rng)`` -> a legal move."""

    name = "opponent"

    def act(self, planes: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> int:
        raise NotImplementedError


def _best(values: dict[int, float], rng: np.random.Generator) -> int:
    top = max(values.values())
    return int(rng.choice([move for move, value in values.items() if value == top]))


class RandomOpponent(Opponent):
    name = "random"

    def act(self, planes: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> int:
        return int(rng.choice(np.flatnonzero(legal)))


def ttt_immediate_wins(planes: np.ndarray) -> tuple[list[int], list[int]]:
    """(the mover's winning cells, the other player's) on a (3, 3, 2) board."""
    own, other = ttt_bits(planes)
    return ttt_winning_moves(own, other), ttt_winning_moves(other, own)


def c4_immediate_wins(planes: np.ndarray) -> tuple[list[int], list[int]]:
    """(the mover's winning columns, the other player's) on a (6, 7, 2) board."""
    board = c4_board(planes)
    return c4_winning_moves(board), c4_winning_moves(-board)


# One ply of lookahead for each player, by game: what win-or-block needs to know of the rules.
IMMEDIATE_WINS = {"tictactoe_v3": ttt_immediate_wins, "connect_four_v3": c4_immediate_wins}


class WinOrBlock(Opponent):
    """Win if it can, else block the other player's immediate win, else play at random (see the module's doc).

    With two threats to block it blocks one at random and loses to the other, as a one-ply player must.
    """

    name = "winblock"

    def __init__(self, game: str) -> None:
        if game not in IMMEDIATE_WINS:
            raise ValueError(f"win-or-block knows the rules of {', '.join(IMMEDIATE_WINS)}, not {game}")
        self.immediate_wins = IMMEDIATE_WINS[game]

    def act(self, planes: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> int:
        wins, threats = self.immediate_wins(planes)
        for moves in (wins, threats):
            moves = [move for move in moves if legal[move]]
            if moves:
                return int(rng.choice(moves))
        return int(rng.choice(np.flatnonzero(legal)))


class PerfectTicTacToe(Opponent):
    name = "perfect"

    def act(self, planes: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> int:
        return _best(ttt_move_values(*ttt_bits(planes)), rng)


class AlphaBetaConnectFour(Opponent):
    def __init__(self, depth: int = 2) -> None:
        if depth < 1:
            raise ValueError("alpha-beta depth must be at least 1")
        self.depth = depth
        self.name = f"alphabeta{depth}"

    def act(self, planes: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> int:
        return _best(c4_move_values(c4_board(planes), self.depth), rng)


# The opponents each game is evaluated against; the first is the default of periodic evaluation.
GAME_OPPONENTS = {
    "tictactoe_v3": ("perfect", "winblock", "random"),
    "connect_four_v3": ("alphabeta2", "winblock", "alphabeta4", "random"),
}
# Random plies opening each evaluation game where eval.opening_plies is None: Connect Four's 49 two-ply
# openings keep a deterministic agent against alpha-beta from playing one game over and over. Others: 0.
GAME_OPENING_PLIES = {"connect_four_v3": 2}


def make_opponent(name: str, game: str) -> Opponent:
    """An opponent by name: ``random``, ``winblock`` (tic-tac-toe and Connect Four), ``perfect`` (tic-tac-toe)
    or ``alphabetaN`` (Connect Four, depth N)."""
    if name == "random":
        return RandomOpponent()
    if name == "winblock" and game in IMMEDIATE_WINS:
        return WinOrBlock(game)
    if name == "perfect" and game == "tictactoe_v3":
        return PerfectTicTacToe()
    if name.startswith("alphabeta") and game == "connect_four_v3":
        depth = name.removeprefix("alphabeta") or "2"
        if depth.isdigit():
            return AlphaBetaConnectFour(int(depth))
    known = ", ".join(GAME_OPPONENTS.get(game, ("random",)))
    raise ValueError(f"unknown opponent {name!r} for {game}; known: {known} (alphabetaN for any depth N)")


def opponents_for(game: str) -> tuple[str, ...]:
    return GAME_OPPONENTS.get(game, ("random",))


def opening_plies_for(game: str) -> int:
    """The random plies that open each evaluation game of ``game`` by default (``GAME_OPENING_PLIES``)."""
    return GAME_OPENING_PLIES.get(game, 0)
