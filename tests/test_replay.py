"""Prioritised sampling, importance weights and the capacity bound of replay."""

from __future__ import annotations

import numpy as np

from muzero.config import ReplayConfig
from muzero.replay.buffer import ReplayBuffer
from muzero.replay.sum_tree import SumTree


def test_sum_tree_totals_and_lookup():
    tree = SumTree(5)
    tree.update(np.arange(5), np.array([1.0, 0.0, 2.0, 3.0, 4.0]))
    assert tree.total == 10.0
    # Cumulative ranges: [0,1) -> 0, [1,3) -> 2, [3,6) -> 3, [6,10) -> 4; leaf 1 (priority 0) is never found.
    np.testing.assert_array_equal(
        tree.find(np.array([0.0, 0.99, 1.0, 2.9, 3.0, 5.99, 6.0, 9.99, 10.0])), [0, 0, 2, 2, 3, 3, 4, 4, 4]
    )
    tree.update(np.array([4, 4]), np.array([1.0, 1.0]))  # repeated indices are harmless
    assert tree.total == 7.0


def test_sampling_frequencies_match_priorities():
    priorities = np.array([1.0, 2.0, 3.0, 4.0, 0.0, 10.0, 0.5, 0.5])
    tree = SumTree(len(priorities))
    tree.update(np.arange(len(priorities)), priorities)
    rng = np.random.default_rng(0)
    draws = 200_000
    counts = np.bincount(
        np.concatenate([tree.sample(1000, rng) for _ in range(draws // 1000)]), minlength=len(priorities)
    )
    expected = priorities / priorities.sum()
    # Stratified sampling has less variance than multinomial; a 4-sigma multinomial bound is safe.
    sigma = np.sqrt(expected * (1 - expected) / draws)
    assert (np.abs(counts / draws - expected) <= 4 * sigma + 1e-12).all(), (counts / draws, expected)
    assert counts[4] == 0


def filled_buffer(alpha: float, beta: float) -> ReplayBuffer:
    replay = ReplayBuffer(
        2, 3, 2, ReplayConfig(capacity=40, priority_alpha=alpha, priority_beta=beta, priority_epsilon=1e-6)
    )
    for t in range(10):
        replay.add_step(np.full((2, 3), t, np.float32), np.full((2, 2), 0.5), np.zeros(2), np.zeros(2, int), np.ones(2))
    return replay


def test_priorities_and_importance_weights_follow_the_definitions():
    alpha, beta = 0.6, 0.4
    replay = filled_buffer(alpha, beta)
    index = np.array([replay.flat_index(e, t) for e in range(2) for t in range(10)])
    errors = np.linspace(0.1, 2.0, 20)
    replay.update_priorities(index, errors)
    stored = (errors + 1e-6) ** alpha
    probability = dict(zip(index, stored / stored.sum(), strict=True))
    batch = replay.sample(64, 2, 2, 0.9, np.random.default_rng(1))
    expected = (len(index) * np.array([probability[i] for i in batch.index])) ** (-beta)
    np.testing.assert_allclose(batch.weight, expected / expected.max(), rtol=1e-5)
    assert batch.weight.max() == 1.0


def test_new_rows_get_the_largest_priority_seen():
    replay = filled_buffer(1.0, 1.0)
    replay.update_priorities(np.array([0]), np.array([5.0]))
    replay.add_step(np.zeros((2, 3), np.float32), np.full((2, 2), 0.5), np.zeros(2), np.zeros(2, int), np.ones(2))
    newest = np.array([replay.flat_index(0, 10), replay.flat_index(1, 10)])
    np.testing.assert_allclose(replay.tree.get(newest), 5.0 + 1e-6)


def test_final_rows_are_never_sampled():
    replay = filled_buffer(1.0, 1.0)
    replay.end_episodes(np.array([0, 1]), np.zeros((2, 3), np.float32), np.array([True, False]), np.zeros(2))
    batch = replay.sample(2000, 1, 1, 0.9, np.random.default_rng(0))
    env, slot = np.divmod(batch.index, replay.rows_per_env)
    assert not replay.is_final[env, slot].any()
    assert len(replay) == 20


def test_capacity_bounds_memory_and_oldest_rows_are_overwritten():
    replay = ReplayBuffer(2, 3, 2, ReplayConfig(capacity=40))
    size = replay.nbytes()
    for t in range(500):
        replay.add_step(np.full((2, 3), t, np.float32), np.full((2, 2), 0.5), np.zeros(2), np.zeros(2, int), np.ones(2))
        if t % 7 == 6:
            replay.end_episodes(np.array([0]), np.zeros((1, 3), np.float32), np.array([True]), np.zeros(1))
    assert replay.nbytes() == size
    assert len(replay) <= 40
    batch = replay.sample(500, 3, 5, 0.9, np.random.default_rng(0))
    # Only the newest 20 rows per environment remain; env 1 holds steps 480..499.
    env = batch.index // replay.rows_per_env
    assert (batch.observation[env == 1, 0] >= 480).all()
    assert np.isfinite(batch.target_value).all()


def test_state_dict_round_trip():
    replay = filled_buffer(0.5, 0.5)
    replay.update_priorities(np.arange(5), np.arange(5.0))
    copy = ReplayBuffer(2, 3, 2, replay.config)
    copy.load_state_dict(replay.state_dict())
    a = replay.sample(32, 2, 3, 0.9, np.random.default_rng(5))
    b = copy.sample(32, 2, 3, 0.9, np.random.default_rng(5))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
