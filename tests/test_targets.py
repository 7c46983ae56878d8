"""K-step targets against values computed by hand, for episodes that terminate, are truncated, or still run.

The episode in every case: observations o0..o4, rewards 1, 2, 3, 4, 5, stored search values
10, 20, 30, 40, 50, discount 0.5, n = 2 TD steps, K = 3 unroll steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from muzero.config import ReplayConfig
from muzero.replay.buffer import ReplayBuffer

GAMMA, N, K = 0.5, 2, 3
REWARDS = [1.0, 2.0, 3.0, 4.0, 5.0]
VALUES = [10.0, 20.0, 30.0, 40.0, 50.0]
ACTIONS = [1, 0, 1, 1, 0]


def episode_buffer(ending: str, final_value: float = 100.0) -> ReplayBuffer:
    """One environment, one five-step episode that ends as ``ending``: terminated, truncated or running."""
    replay = ReplayBuffer(1, observation_size=1, num_actions=2, config=ReplayConfig(capacity=64))
    for t in range(5):
        replay.add_step(
            np.array([[t]], np.float32),
            np.array([[0.25, 0.75]]),
            np.array([VALUES[t]]),
            np.array([ACTIONS[t]]),
            np.array([REWARDS[t]]),
        )
    if ending != "running":
        replay.end_episodes(
            np.array([0]), np.array([[5.0]], np.float32), np.array([ending == "terminated"]), np.array([final_value])
        )
    return replay


def targets_at(replay: ReplayBuffer, position: int):
    index = np.array([replay.flat_index(0, position)])
    return replay.batch_at(index, K, N, GAMMA, np.random.default_rng(0))


def test_terminated_episode_from_its_start():
    b = targets_at(episode_buffer("terminated"), 0)
    # z_k = r_k + g r_{k+1} + g^2 v_{k+2}; the value after the last step is 0 (terminal).
    expected = [1 + 0.5 * 2 + 0.25 * 30, 2 + 0.5 * 3 + 0.25 * 40, 3 + 0.5 * 4 + 0.25 * 50, 4 + 0.5 * 5 + 0.25 * 0]
    np.testing.assert_allclose(b.target_value[0], expected)
    assert b.value_mask[0].all()
    np.testing.assert_allclose(b.target_reward[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(b.reward_mask[0], [False, True, True, True])
    np.testing.assert_array_equal(b.actions[0], ACTIONS[:3])
    np.testing.assert_allclose(b.target_policy[0], [[0.25, 0.75]] * 4)
    assert b.policy_mask[0].all()
    np.testing.assert_allclose(b.observation[0], [0.0])


def test_terminated_episode_near_its_end_becomes_absorbing():
    b = targets_at(episode_buffer("terminated"), 3)
    # Position 3: z = 4 + 0.5*5 + 0; position 4: 5 + 0.5*0; position 5 is the terminal state: 0;
    # position 6 lies past the end: absorbing, value 0, still trained.
    np.testing.assert_allclose(b.target_value[0], [6.5, 5.0, 0.0, 0.0])
    assert b.value_mask[0].all()
    np.testing.assert_allclose(b.target_reward[0], [0, 4, 5, 0])
    np.testing.assert_array_equal(b.reward_mask[0], [False, True, True, True])
    np.testing.assert_array_equal(b.policy_mask[0], [True, True, False, False])
    np.testing.assert_array_equal(b.actions[0, :2], ACTIONS[3:5])  # the third action is random padding


def test_truncated_episode_bootstraps_from_its_final_value():
    b = targets_at(episode_buffer("truncated", final_value=100.0), 0)
    np.testing.assert_allclose(b.target_value[0, 3], 4 + 0.5 * 5 + 0.25 * 100)
    b = targets_at(episode_buffer("truncated", final_value=100.0), 3)
    # The final observation's value (100) stands in for everything after the cut.
    np.testing.assert_allclose(b.target_value[0, :3], [4 + 0.5 * 5 + 0.25 * 100, 5 + 0.5 * 100, 100])
    # Past the cut nothing is known: no value or reward target.
    np.testing.assert_array_equal(b.value_mask[0], [True, True, True, False])
    np.testing.assert_array_equal(b.reward_mask[0], [False, True, True, False])
    np.testing.assert_array_equal(b.policy_mask[0], [True, True, False, False])


def test_running_episode_bootstraps_from_its_newest_row():
    b = targets_at(episode_buffer("running"), 2)
    # Newest row is position 4 (value 50): position 2 -> 3 + 0.5*4 + 0.25*50; position 3 -> 4 + 0.5*50;
    # position 4 -> its own value; position 5 is not yet known.
    np.testing.assert_allclose(b.target_value[0, :3], [3 + 2 + 12.5, 4 + 25, 50])
    np.testing.assert_array_equal(b.value_mask[0], [True, True, True, False])
    np.testing.assert_array_equal(b.reward_mask[0], [False, True, True, False])
    np.testing.assert_array_equal(b.policy_mask[0], [True, True, True, False])


def test_reanalysed_values_replace_stored_ones():
    replay = episode_buffer("terminated")
    index = np.array([replay.flat_index(0, 0)])
    # A value function that returns 1000 + the observation (which is the position).
    batch = replay.batch_at(index, K, N, GAMMA, np.random.default_rng(0), value_fn=lambda obs: 1000 + obs[:, 0])
    np.testing.assert_allclose(
        batch.target_value[0], [1 + 1 + 0.25 * 1002, 2 + 1.5 + 0.25 * 1003, 3 + 2 + 0.25 * 1004, 4 + 2.5]
    )


def test_a_new_episode_after_a_final_row_starts_fresh():
    replay = episode_buffer("terminated")
    replay.add_step(
        np.array([[7.0]], np.float32), np.array([[1.0, 0.0]]), np.array([9.0]), np.array([0]), np.array([1.0])
    )
    b = targets_at(replay, 6)
    np.testing.assert_allclose(b.observation[0], [7.0])
    np.testing.assert_allclose(b.target_value[0, 0], 9.0)  # newest row: its own value
    np.testing.assert_array_equal(b.value_mask[0], [True, False, False, False])


@pytest.mark.parametrize("td_steps", [1, 3, 10])
def test_matches_a_plain_loop_on_random_episodes(td_steps):
    rng = np.random.default_rng(td_steps)
    replay = ReplayBuffer(1, 1, 2, ReplayConfig(capacity=1000))
    rewards, values, ends = [], [], []
    for _ in range(6):
        length = int(rng.integers(1, 12))
        r = rng.normal(size=length)
        v = rng.normal(size=length)
        for t in range(length):
            replay.add_step(
                np.zeros((1, 1), np.float32), np.array([[0.5, 0.5]]), v[t : t + 1], np.array([0]), r[t : t + 1]
            )
        term = bool(rng.integers(0, 2))
        final_v = rng.normal()
        replay.end_episodes(np.array([0]), np.zeros((1, 1), np.float32), np.array([term]), np.array([final_v]))
        rewards += [*r, 0.0]
        values += [*v, 0.0 if term else final_v]
        ends += [(len(rewards) - 1, term)] * (length + 1)
    for position in range(len(rewards)):
        if replay.is_final[0, position]:
            continue
        batch = targets_at_generic(replay, position, td_steps)
        end, term = ends[position]
        for k in range(K + 1):
            p = position + k
            if p > end:
                assert batch.value_mask[0, k] == term
                continue
            b = min(p + td_steps, end)
            z = sum(GAMMA ** (j - p) * rewards[j] for j in range(p, b)) + GAMMA ** (b - p) * values[b]
            assert batch.target_value[0, k] == pytest.approx(z, rel=1e-5, abs=1e-5)


def targets_at_generic(replay: ReplayBuffer, position: int, td_steps: int):
    index = np.array([replay.flat_index(0, position)])
    return replay.batch_at(index, K, td_steps, GAMMA, np.random.default_rng(0))
