"""The batched game rules and symmetries against PettingZoo's own games, played move by move."""

from __future__ import annotations

import numpy as np
import pytest

from muzero.envs.games.aec import SelfPlayEnv
from muzero.envs.games.opponents import C4_LINES
from muzero.envs.games.rules import CONNECT_FOUR, TICTACTOE, GameRules, board_lines, rules_for
from muzero.envs.games.symmetries import compose
from muzero.envs.spaces import ObservationEncoder

pytest.importorskip("pettingzoo")

GAMES = {"tictactoe_v3": TICTACTOE, "connect_four_v3": CONNECT_FOUR}


class Game:
    """A PettingZoo game through ``SelfPlayEnv``, seen as the networks see it: flat observations."""

    def __init__(self, game_id: str, seed: int) -> None:
        self.env = SelfPlayEnv(game_id)
        self.encoder = ObservationEncoder(self.env.observation_space)
        observation, info = self.env.reset(seed=seed)
        self.observation = self.encoder.encode(observation)  # (D,)
        self.legal = info["action_mask"]  # (A,)
        self.reward, self.done = 0.0, False

    def play(self, action: int) -> None:
        observation, self.reward, self.done, _, info = self.env.step(action)
        self.observation, self.legal = self.encoder.encode(observation), info["action_mask"]


def random_moves(game_id: str, seed: int) -> list[int]:
    """The moves of one random game."""
    rng, game, moves = np.random.default_rng(seed), Game(game_id, seed), []
    while not game.done:
        moves.append(int(rng.choice(np.flatnonzero(game.legal))))
        game.play(moves[-1])
    return moves


@pytest.mark.parametrize("game_id", list(GAMES))
def test_the_rules_play_as_pettingzoo_does_move_by_move(game_id):
    rules = rules_for(game_id)
    assert rules is GAMES[game_id]
    played = []  # (observation, move, next observation, reward, terminal) of every move
    for seed in range(30):
        game = Game(game_id, seed)
        assert rules.observation_size == game.encoder.size and rules.num_actions == game.env.action_space.n
        for move in random_moves(game_id, seed):
            observation = game.observation[None]
            np.testing.assert_array_equal(rules.legal(observation)[0], game.legal)
            assert not rules.terminal(observation)[0]
            step = rules.step(observation, np.array([move]))
            game.play(move)
            np.testing.assert_array_equal(step.observation[0], game.observation)
            assert (step.reward[0], step.terminal[0]) == (game.reward, game.done)
            assert rules.terminal(step.observation)[0] == game.done
            np.testing.assert_array_equal(rules.legal(step.observation)[0], game.legal)  # also at the end
            played.append((observation[0], move, game.observation, game.reward, game.done))
    # Every position of every game as one batch: each row as it was alone.
    before, moves, after, rewards, ends = zip(*played, strict=True)
    step = rules.step(np.stack(before), np.array(moves))
    np.testing.assert_array_equal(step.observation, np.stack(after))
    np.testing.assert_array_equal(step.reward, rewards)
    np.testing.assert_array_equal(step.terminal, ends)


def test_an_illegal_move_places_no_piece():
    full_column = np.zeros((1, 86), np.float32)
    full_column[0, 84] = 1
    for _ in range(6):
        full_column = CONNECT_FOUR.step(full_column, np.array([0])).observation
    assert not CONNECT_FOUR.legal(full_column)[0, 0]
    step = CONNECT_FOUR.step(full_column, np.array([0]))
    assert step.reward[0] == 0 and not step.terminal[0]
    np.testing.assert_array_equal(step.observation[0, :84].reshape(42, 2), full_column[0, :84].reshape(42, 2)[:, ::-1])
    with pytest.raises(ValueError, match=r"\(B, 20\)"):
        TICTACTOE.legal(np.zeros((1, 86)))


def test_winning_lines_and_game_ids():
    assert {tuple(line) for line in board_lines(6, 7, 4)} == {tuple(line) for line in C4_LINES}
    assert len(TICTACTOE.lines) == 8 and len(CONNECT_FOUR.lines) == 69
    assert rules_for("pettingzoo.classic.connect_four_v3") is CONNECT_FOUR
    for other in ("CartPole-v1", "pettingzoo.classic.go_v5", "pettingzoo.atari.tictactoe_v3", None):
        assert rules_for(other) is None


# ---------------------------------------------------------------------------------------------------------------
# Symmetries.


@pytest.mark.parametrize(("rules", "size"), [(TICTACTOE, 8), (CONNECT_FOUR, 2)])
def test_the_symmetries_form_a_group_with_the_identity_first(rules: GameRules, size: int):
    symmetries = rules.symmetries
    assert symmetries.size == size
    assert symmetries.observation_index.shape == (size, rules.observation_size)
    assert symmetries.action_index.shape == (size, rules.num_actions)
    np.testing.assert_array_equal(symmetries.observation_index[0], np.arange(rules.observation_size))
    np.testing.assert_array_equal(symmetries.action_index[0], np.arange(rules.num_actions))
    elements = {(tuple(o), tuple(a)) for o, a in zip(*symmetries, strict=True)}
    assert len(elements) == size  # distinct
    for first in range(size):
        for then in range(size):
            observation, action = compose(symmetries, first, then)
            assert (tuple(observation), tuple(action)) in elements  # closed, observations and actions together
        np.testing.assert_array_equal(np.sort(symmetries.observation_index[first]), np.arange(rules.observation_size))
    # The player to move is no cell: no symmetry moves it.
    trailing = symmetries.observation_index[:, -2:]
    np.testing.assert_array_equal(trailing, np.broadcast_to(rules.observation_size - np.array([2, 1]), (size, 2)))
