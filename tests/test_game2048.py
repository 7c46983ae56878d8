"""The rules of muzero/2048-v0: slides, merges (each tile once, nearest the wall first), the score, tile
placement, illegal moves, the end of the game, and the observation's planes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from muzero.envs.game2048 import DOWN, LEFT, RIGHT, UP, Game2048, legal_moves, planes, slide, slide_row_left
from muzero.envs.make import register_family
from muzero.envs.spaces import image_shape


@pytest.mark.parametrize(
    "row,expected,score",
    [
        ([1, 1, 0, 0], [2, 0, 0, 0], 4),  # 2 2 . . -> 4
        ([1, 1, 1, 1], [2, 2, 0, 0], 8),  # each tile merges once
        ([1, 1, 1, 0], [2, 1, 0, 0], 4),  # the pair nearest the wall merges first
        ([0, 2, 0, 2], [3, 0, 0, 0], 8),  # tiles slide across gaps and then merge
        ([2, 1, 1, 0], [2, 2, 0, 0], 4),  # a merged tile does not merge again in the same move
        ([1, 2, 3, 4], [1, 2, 3, 4], 0),
    ],
)
def test_a_row_slides_and_merges_as_the_game_does(row, expected, score):
    out, got = slide_row_left(np.array(row))
    assert out.tolist() == expected and got == score


def test_every_direction_is_the_left_slide_of_the_turned_board():
    board = np.array([[1, 0, 0, 1], [0, 2, 0, 0], [0, 2, 3, 0], [0, 0, 3, 0]])
    assert slide(board, LEFT)[0].tolist() == [[2, 0, 0, 0], [2, 0, 0, 0], [2, 3, 0, 0], [3, 0, 0, 0]]
    assert slide(board, RIGHT)[0].tolist() == [[0, 0, 0, 2], [0, 0, 0, 2], [0, 0, 2, 3], [0, 0, 0, 3]]
    up, score = slide(board, UP)
    assert up.tolist() == [[1, 3, 4, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]] and score == 8 + 16
    assert slide(board, DOWN)[0].tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 3, 4, 1]]


def test_a_move_places_one_tile_and_an_illegal_move_changes_nothing():
    env = Game2048()
    env.reset(seed=0)
    env.board = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    observation, reward, terminated, truncated, info = env.step(LEFT)
    assert reward == 4 and not terminated and not truncated and info["score"] == 4
    new_tile = env.board.copy()
    new_tile[0, 0] = 0
    assert env.board[0, 0] == 2 and (new_tile > 0).sum() == 1 and new_tile.max() in (1, 2)
    cell = int(np.flatnonzero(new_tile)[0])  # info names the outcome: 2 * cell + (1 for a 4)
    assert info["chance"] == 2 * cell + int(new_tile.flat[cell] == 2)
    assert np.array_equal(observation, planes(env.board)) and observation.dtype == np.uint8
    blocked = np.array([[1, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    env.board = blocked.copy()
    assert info["action_mask"].dtype == np.int8
    _, reward, _, _, info = env.step(LEFT)  # nothing can move left
    assert reward == 0 and np.array_equal(env.board, blocked) and info["action_mask"].tolist() == [0, 1, 1, 0]


def test_new_tiles_are_twos_nine_times_in_ten_on_empty_cells():
    env = Game2048()
    fours = placed = 0
    for seed in range(400):
        env.reset(seed=seed)
        tiles = env.board[env.board > 0]
        assert len(tiles) == 2
        fours += int((tiles == 2).sum())
        placed += 2
    assert 0.07 < fours / placed < 0.13


def test_a_full_board_without_equal_neighbours_has_no_legal_move():
    full = np.array([[1, 2, 1, 2], [2, 1, 2, 1], [1, 2, 1, 2], [2, 1, 2, 3]])
    assert legal_moves(full).tolist() == [0, 0, 0, 0]
    full[3, 3] = 2  # two equal neighbours: moving right or down (and left or up) merges them
    assert legal_moves(full).tolist() == [1, 1, 1, 1]


def test_a_random_game_keeps_its_invariants_to_the_end():
    register_family("muzero/2048-v0")
    env = gym.make("muzero/2048-v0")
    observation, info = env.reset(seed=3)
    rng = np.random.default_rng(0)
    total, steps, terminated = 0.0, 0, False
    while not terminated:
        assert env.observation_space.contains(observation) and observation.sum(axis=-1).min() == 1
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        observation, reward, terminated, _, info = env.step(action)
        total += reward
        steps += 1
    assert steps > 50 and total == info["score"] and info["max_tile"] >= 64
    assert not legal_moves(env.unwrapped.board).any()  # it ended because nothing can move


def test_square_images_are_told_channels_last_or_first_by_their_square():
    assert image_shape(gym.spaces.Box(0, 1, (4, 4, 16), np.uint8)) == (4, 4, 16, False)
    assert image_shape(gym.spaces.Box(0, 1, (16, 4, 4), np.uint8)) == (4, 4, 16, True)
    assert image_shape(gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)) == (84, 84, 4, False)
    assert image_shape(gym.spaces.Box(0, 255, (3, 210, 160), np.uint8)) == (210, 160, 3, True)
    assert image_shape(gym.spaces.Box(0, 255, (210, 160, 3), np.uint8)) == (210, 160, 3, False)
