"""``muzero play``: a person plays a two-player game against a trained agent in the terminal.

The board is drawn as text (``X`` moves first, ``O`` second); the person types the number of a
move (a cell for tic-tac-toe, a column for Connect Four); the agent answers with its greedy search
(no root noise, the most-visited move), as in evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from muzero.envs.games.display import MARKS, board_text
from muzero.errors import UserError
from muzero.search.mcts import greedy_actions


def move_legend(board: np.ndarray, legal: np.ndarray) -> str:
    """How to name moves: the board with free cells numbered (one move per cell), or column numbers."""
    rows, cols = board.shape[:2]
    if rows * cols == len(legal):  # a move per cell (tic-tac-toe)
        lines = []
        for r in range(rows):
            cells = [str(r * cols + c) if legal[r * cols + c] else "." for c in range(cols)]
            lines.append(" ".join(cells))
        return "moves:\n" + "\n".join(lines)
    if cols == len(legal):  # a move per column (Connect Four)
        return " ".join(str(c) if legal[c] else " " for c in range(cols)) + "   (columns)"
    return "legal moves: " + ", ".join(str(a) for a in np.flatnonzero(legal))


def play_human(
    agent,
    human_first: bool = True,
    seed: int = 0,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> int:
    """Play one game; returns the winner from the person's side: 1 the person won, 0 a draw, -1 the agent won."""
    source = agent.source
    if source.game is None:
        raise UserError(f"{source.name} is not a two-player game; muzero play plays PettingZoo games")
    env = source.make_raw()
    game = env.unwrapped
    human = 0 if human_first else 1
    write(
        f"{source.game}: you are {MARKS[human]} ({'first' if human_first else 'second'}), the agent {MARKS[1 - human]}"
    )
    observation, info = env.reset(seed=seed)
    done = False
    try:
        while not done:
            legal = np.asarray(info["action_mask"], bool)
            write(board_text(game.board()))
            if observation["to_play"] == human:
                move = _ask(legal, game.board(), read, write)
            else:
                batch = agent.encoder.encode(observation)[None]
                move = int(greedy_actions(agent.model, batch, agent.config.search, legal[None])[0])
                write(f"agent plays {move}")
            observation, _, terminated, truncated, info = env.step(move)
            done = terminated or truncated
        write(board_text(game.board()))
    finally:
        env.close()
    winner = info.get("winner", -1)
    outcome = 0 if winner < 0 else (1 if winner == human else -1)
    write({1: "you win", 0: "draw", -1: "the agent wins"}[outcome])
    return outcome


def _ask(legal: np.ndarray, board: np.ndarray, read: Callable[[str], str], write: Callable[[str], None]) -> int:
    write(move_legend(board, legal))
    while True:
        try:
            text = read("your move: ").strip()
        except EOFError:
            raise UserError("no more input; the game was abandoned") from None
        if text.lower() in ("q", "quit", "exit"):
            raise UserError("game abandoned")
        if text.isdigit() and int(text) < len(legal) and legal[int(text)]:
            return int(text)
        write(f"{text!r} is not a legal move; legal: {', '.join(str(a) for a in np.flatnonzero(legal))} (q quits)")
