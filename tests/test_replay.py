"""Prioritised sampling, importance weights and the capacity bound of replay."""

from __future__ import annotations

import numpy as np
import pytest

from muzero.config import Config, ReplayConfig
from muzero.errors import ConfigError
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


@pytest.mark.parametrize("end_reservoir", [0, 40])
def test_targets_across_ring_wraparound_with_several_environments_match_a_plain_recomputation(end_reservoir):
    """Three environments, episodes of random lengths ending by termination or truncation, rings wrapped many
    times: every samplable row's value, reward and policy targets equal those recomputed from a plain log.

    With an end reservoir, the copies of terminated episodes' last steps are rows like any other: their
    targets too equal the plain recomputation (a copied ending is a complete short episode)."""
    rng = np.random.default_rng(0)
    num_envs, unroll, td, gamma = 3, 3, 4, 0.9
    config = ReplayConfig(capacity=3 * 17, end_reservoir=end_reservoir, end_tail_steps=6)
    replay = ReplayBuffer(num_envs, 1, 2, config)
    log = [[] for _ in range(num_envs)]  # per env: rows (id, reward, value, final, terminated, policy)
    next_id = 0
    for _ in range(120):
        ids = np.arange(next_id, next_id + num_envs)
        next_id += num_envs
        rewards, values = rng.normal(size=num_envs), rng.normal(size=num_envs)
        policy = rng.dirichlet([1, 1], size=num_envs)
        replay.add_step(ids[:, None].astype(np.float32), policy, values, rng.integers(0, 2, num_envs), rewards)
        for e in range(num_envs):
            log[e].append((ids[e], rewards[e], values[e], False, False, policy[e]))
        ending = np.flatnonzero(rng.random(num_envs) < 0.15)
        if len(ending):
            terminated = rng.random(len(ending)) < 0.5
            final_ids = np.arange(next_id, next_id + len(ending))
            next_id += len(ending)
            final_values = rng.normal(size=len(ending))
            replay.end_episodes(ending, final_ids[:, None].astype(np.float32), terminated, final_values)
            for i, e in enumerate(ending):
                value = 0.0 if terminated[i] else final_values[i]
                log[e].append((final_ids[i], 0.0, value, True, bool(terminated[i]), np.zeros(2)))
    assert replay.head[:num_envs].min() > 4 * replay.rows_per_env  # wrapped several times (the reservoir too)

    rings = num_envs + replay.reservoir_rings
    index = np.flatnonzero(replay.tree.get(np.arange(rings * replay.rows_per_env)) > 0)
    batch = replay.batch_at(index, unroll, td, gamma, rng)
    where = {int(r[0]): (e, i) for e in range(num_envs) for i, r in enumerate(log[e])}  # row id -> (env, index)
    kept = index // replay.rows_per_env >= num_envs
    assert kept.any() == (end_reservoir > 0)
    for row in range(len(index)):
        env, t = where[int(batch.observation[row, 0])]
        rows = log[env]
        if kept[row]:  # a copy: of one of the last end_tail_steps steps of an episode that terminated
            end = next(i for i in range(t, len(rows)) if rows[i][3])
            assert rows[end][4] and end - t <= 6
        # The episode's last stored row: its final row, or the newest row if it is still running.
        d = next((i for i in range(t, len(rows)) if rows[i][3]), len(rows) - 1) - t
        terminal = rows[t + d][4]
        for k in range(unroll + 1):
            if k > d:
                assert batch.value_mask[row, k] == terminal
                assert batch.target_value[row, k] == 0.0
                continue
            b = min(k + td, d)
            expected = sum(gamma ** (j - k) * rows[t + j][1] for j in range(k, b))
            boot = 0.0 if (terminal and b == d) else rows[t + b][2]
            expected += gamma ** (b - k) * boot
            assert batch.value_mask[row, k]
            assert batch.target_value[row, k] == pytest.approx(expected, rel=1e-5, abs=1e-5)
            if k >= 1:
                assert batch.target_reward[row, k] == pytest.approx(rows[t + k - 1][1], rel=1e-6)
            if t + k <= t + d and not rows[t + k][3]:
                np.testing.assert_allclose(batch.target_policy[row, k], rows[t + k][5], rtol=1e-6)


def test_the_end_reservoir_keeps_falls_that_long_episodes_pushed_out():
    """One environment: a short episode that falls, then long episodes that are cut off; the fall's last steps
    outlive it in the ring and stay samplable, truncated endings are never copied, and a resumed buffer
    keeps them."""
    config = ReplayConfig(capacity=20, end_reservoir=8, end_tail_steps=3)
    replay = ReplayBuffer(1, 1, 2, config)

    def play(first: int, steps: int, terminated: bool) -> None:
        for t in range(first, first + steps):
            replay.add_step(
                np.full((1, 1), t, np.float32), np.full((1, 2), 0.5), np.zeros(1), np.zeros(1, int), np.ones(1)
            )
        final = np.full((1, 1), first + steps, np.float32)
        replay.end_episodes(np.array([0]), final, np.array([terminated]), np.zeros(1))

    play(0, 5, terminated=True)  # rows 0..4, final row 5: the tail kept is rows 2, 3, 4 and the final row 5
    for first in (100, 200, 300):
        play(first, 30, terminated=False)  # cut off: nothing copied; the ring of 20 forgets rows 0..5
    assert replay.ends_kept == 1
    stored = replay.observation[0, :, 0][replay.position[0] >= 0]
    assert not np.isin([2, 3, 4, 5], stored).any()
    ring = replay.num_envs
    kept = replay.observation[ring, :4, 0]
    np.testing.assert_array_equal(kept, [2, 3, 4, 5])
    assert replay.terminated[ring, 3] and replay.is_final[ring, 3]
    batch = replay.sample(2_000, 2, 3, 1.0, np.random.default_rng(0))
    from_reservoir = batch.observation[batch.index // replay.rows_per_env == ring, 0]
    assert set(from_reservoir.tolist()) == {2.0, 3.0, 4.0}  # the final row itself is never sampled
    # Row 3 of the copy: two rewards of 1, then the fall (value 0 beyond it): exact targets.
    at_3 = np.flatnonzero(batch.observation[:, 0] == 3)[0]
    np.testing.assert_allclose(batch.target_value[at_3], [2.0, 1.0, 0.0])
    copy = ReplayBuffer(1, 1, 2, config)
    copy.load_state_dict(replay.state_dict())
    assert copy.ends_kept == 1
    np.testing.assert_array_equal(copy.observation, replay.observation)


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5])
def test_the_end_reservoir_share_fixes_how_much_of_a_batch_its_rows_make_up(share):
    """A ring of 20 rows and a reservoir holding one fall's last 3 steps: sampled with the rest, the reservoir
    makes up its share of the rows (3 of 22); with a fixed share, exactly that many rows of every batch
    come from it, spread over all of its rows, and none of the others does."""
    config = ReplayConfig(capacity=20, end_reservoir=8, end_tail_steps=3, end_reservoir_share=share)
    replay = ReplayBuffer(1, 1, 2, config)
    for first, steps, terminated in ((0, 5, True), (100, 30, False)):
        for t in range(first, first + steps):
            replay.add_step(
                np.full((1, 1), t, np.float32), np.full((1, 2), 0.5), np.zeros(1), np.zeros(1, int), np.ones(1)
            )
        replay.end_episodes(np.array([0]), np.full((1, 1), first + steps, np.float32), np.array([terminated]), [0.0])
    main_rows = int((replay.tree.get(np.arange(replay.rows_per_env)) > 0).sum())
    assert main_rows == 19 and len(replay) == 22  # the final row of the cut-off episode is not samplable
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(200):
        batch = replay.sample(64, 2, 3, 1.0, rng)
        in_reservoir = batch.index // replay.rows_per_env == replay.num_envs
        assert set(batch.observation[in_reservoir, 0].tolist()) <= {2.0, 3.0, 4.0}
        assert not np.isin(batch.observation[~in_reservoir, 0], [2.0, 3.0, 4.0]).any()
        counts.append(int(in_reservoir.sum()))
    if share == 0:
        assert abs(np.mean(counts) / 64 - 3 / 22) < 0.01  # stratified draws: about 8.7 rows a batch
    else:
        assert set(counts) == {round(share * 64)}
        assert set(batch.observation[batch.index // replay.rows_per_env == replay.num_envs, 0]) == {2.0, 3.0, 4.0}


def test_an_end_reservoir_share_without_a_reservoir_is_a_config_error():
    with pytest.raises(ConfigError, match="replay.end_reservoir > 0"):
        Config().replace({"replay.end_reservoir_share": 0.1})
