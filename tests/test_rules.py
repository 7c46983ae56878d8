"""The batched game rules and symmetries against PettingZoo's own games, played move by move."""

from __future__ import annotations

import numpy as np
import pytest

from muzero.config import Config, ReplayConfig
from muzero.envs.games.aec import SelfPlayEnv
from muzero.envs.games.opponents import C4_LINES, c4_board, c4_move_values, ttt_bits, ttt_move_values
from muzero.envs.games.rules import CONNECT_FOUR, TICTACTOE, GameRules, board_lines, rules_for
from muzero.envs.games.symmetries import compose
from muzero.envs.spaces import ObservationEncoder
from muzero.replay.buffer import ReplayBuffer
from muzero.training.augment import augment, training_symmetries, transform_batch

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


def move_policy(game_id: str, observation: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(A,) a policy that is a function of the position alone: softmax of the exact move values (perfect
    tic-tac-toe, 2-ply alpha-beta Connect Four), so a symmetric position must get the moved policy."""
    planes = observation[:-2].reshape(-1, 2)
    if game_id == "tictactoe_v3":
        values = ttt_move_values(*ttt_bits(planes))
    else:
        values = {move: value / 100 for move, value in c4_move_values(c4_board(planes), 2).items()}
    logits = np.full(len(legal), -np.inf)
    logits[list(values)] = list(values.values())
    policy = np.exp(logits - logits.max())
    return (policy / policy.sum()).astype(np.float32)


def replay_of(game_id: str, moves: list[int]) -> tuple[ReplayBuffer, list[np.ndarray], list[np.ndarray]]:
    """One game played in PettingZoo, every move stored in replay as acting stores it; also its observations
    and legal masks move by move."""
    game = Game(game_id, seed=0)
    replay = ReplayBuffer(1, game.encoder.size, game.env.action_space.n, ReplayConfig(capacity=64))
    observations, masks = [game.observation], [game.legal]
    for move in moves:
        policy = move_policy(game_id, game.observation, game.legal)
        observation = game.observation
        game.play(move)
        replay.add_step(observation[None], policy[None], np.zeros(1), np.array([move]), np.array([game.reward]))
        observations.append(game.observation)
        masks.append(game.legal)
    replay.end_episodes(np.array([0]), game.observation[None], np.array([game.done]), np.zeros(1))
    return replay, observations, masks


@pytest.mark.parametrize("game_id", list(GAMES))
def test_a_symmetry_of_a_sample_is_the_sample_of_the_symmetric_game(game_id):
    """Play a game, then its image under each symmetry (every move renamed) in another PettingZoo game: the
    symmetry applied to the first game's samples (observations, actions, policies, legal masks) gives the
    second's, move by move and as replay batches."""
    symmetries = GAMES[game_id].symmetries
    unroll_steps, td_steps = 3, 2
    for seed in range(3):
        moves = random_moves(game_id, 100 + seed)
        replay, observations, masks = replay_of(game_id, moves)
        starts = np.arange(len(moves) - unroll_steps + 1)  # unrolls inside the game: no random actions
        batch = replay.batch_at(starts, unroll_steps, td_steps, -1.0, np.random.default_rng(0))
        for element in range(symmetries.size):
            every = np.full(len(observations), element)
            renamed = symmetries.actions(np.array([moves]), every[:1])[0].tolist()
            mirrored, mirrored_observations, mirrored_masks = replay_of(game_id, renamed)
            np.testing.assert_array_equal(symmetries.observations(np.stack(observations), every), mirrored_observations)
            np.testing.assert_array_equal(symmetries.per_action(np.stack(masks), every), mirrored_masks)
            expected = mirrored.batch_at(starts, unroll_steps, td_steps, -1.0, np.random.default_rng(0))
            moved = transform_batch(batch, symmetries, np.full(len(starts), element))
            for name, value in moved._asdict().items():
                np.testing.assert_allclose(value, getattr(expected, name), rtol=1e-6, err_msg=name)


def test_the_identity_leaves_a_batch_unchanged_and_augment_draws_one_element_per_sample():
    moves = random_moves("tictactoe_v3", 7)
    replay, _, _ = replay_of("tictactoe_v3", moves)
    batch = replay.batch_at(np.arange(len(moves)), 3, 2, -1.0, np.random.default_rng(0))
    symmetries = TICTACTOE.symmetries
    unchanged = transform_batch(batch, symmetries, np.zeros(len(moves), np.int64))
    for name, value in unchanged._asdict().items():
        np.testing.assert_array_equal(value, getattr(batch, name), err_msg=name)
    augmented = augment(batch, symmetries, np.random.default_rng(5))
    element = np.random.default_rng(5).integers(0, symmetries.size, size=len(moves))
    expected = transform_batch(batch, symmetries, element)
    for name, value in augmented._asdict().items():
        np.testing.assert_array_equal(value, getattr(expected, name), err_msg=name)


def test_training_augments_only_games_with_a_group_and_only_when_asked():
    assert training_symmetries(Config().with_sets(["env.id=tictactoe_v3"])) is TICTACTOE.symmetries
    assert training_symmetries(Config().with_sets(["env.id=pettingzoo.classic.connect_four_v3"])).size == 2
    switched_off = Config().with_sets(["env.id=tictactoe_v3", "learner.symmetry_augmentation=false"])
    assert training_symmetries(switched_off) is None
    assert training_symmetries(Config()) is None  # CartPole


@pytest.mark.parametrize("game_id", ["tictactoe_v3", "CartPole-v1"])
def test_the_trainer_augments_the_batches_it_samples_and_leaves_other_environments_alone(game_id, tiny_config):
    """A game's batch is the replay's sample moved by one random element per sample, drawn from the replay
    stream after sampling; CartPole's is the replay's sample, with not one more random draw."""
    from muzero.training.trainer import Trainer

    trainer = Trainer(tiny_config(96, f"env.id={game_id}"))
    for _ in range(6):
        trainer.actor.step(1.0)
    rng, learner = trainer.generators.replay, trainer.config.learner
    before = rng.bit_generator.state
    batch = trainer.sample_batch()
    after = rng.bit_generator.state
    rng.bit_generator.state = before
    value_fn = trainer.learner.target_value if learner.reanalyse_values else None
    expected = trainer.replay.sample(
        learner.batch_size, learner.unroll_steps, learner.td_steps, trainer.discount, rng, value_fn
    )
    if trainer.symmetries is not None:
        element = rng.integers(0, trainer.symmetries.size, size=learner.batch_size)
        expected = transform_batch(expected, trainer.symmetries, element)
    assert (trainer.symmetries is not None) == (game_id == "tictactoe_v3")
    assert rng.bit_generator.state == after
    for name, value in batch._asdict().items():
        np.testing.assert_array_equal(value, getattr(expected, name), err_msg=name)
