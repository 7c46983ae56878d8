"""Frame stacking: the wrapper's rule, and replay's stacks rebuilt by index against a plain reference.

The reference replay stores every stacked observation whole; the stacking replay stores one frame a row.
Both are fed the same episodes of a small image environment whose every frame is distinct, through a
ring small enough to wrap several times, and must give identical training batches at every row.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from muzero.config import ReplayConfig
from muzero.envs.stacking import FrameStack, Stacking, one_hot
from muzero.replay.buffer import ReplayBuffer


class CountingFrames(gym.Env):
    """2x3 single-channel uint8 frames numbering every step ever taken; episodes of 1 to 6 steps."""

    observation_space = gym.spaces.Box(0, 255, (2, 3, 1), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def __init__(self) -> None:
        self.count = 0
        self.left = 0

    def _frame(self) -> np.ndarray:
        self.count += 1
        return np.full((2, 3, 1), self.count % 256, np.uint8) + np.arange(6, dtype=np.uint8).reshape(2, 3, 1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = int(self.np_random.integers(1, 7))
        return self._frame(), {}

    def step(self, action):
        self.left -= 1
        return self._frame(), float(action), self.left == 0, False, {}


def test_the_wrapper_stacks_as_gymnasiums_frame_stack_pads_with_the_first_frame():
    ours = FrameStack(CountingFrames(), 4)
    theirs = gym.wrappers.FrameStackObservation(CountingFrames(), 4, padding_type="reset")
    a, _ = ours.reset(seed=3)
    b, _ = theirs.reset(seed=3)
    np.testing.assert_array_equal(a, b)
    for action in [0, 1, 2, 1, 0, 2, 2]:
        a, *_, done_a, _, _ = ours.step(action)
        b, *_, done_b, _, _ = theirs.step(action)
        np.testing.assert_array_equal(a, b)
        assert done_a == done_b
        if done_a:
            break


def test_stacked_actions_are_the_one_hot_actions_that_led_to_each_frame():
    env = FrameStack(CountingFrames(), 3, actions=True)
    (frames, actions), _ = env.reset(seed=0)
    assert frames.shape == (3, 2, 3, 1) and actions.shape == (3, 3)
    assert not actions.any()  # nothing led to the first frame, nor to the padding before it
    (frames, actions), *_ = env.step(2)
    np.testing.assert_array_equal(actions, one_hot(np.array([-1, -1, 2]), 3))
    np.testing.assert_array_equal(frames[0], frames[1])  # the first frame, repeated
    assert not np.array_equal(frames[1], frames[2])


def play(env_count: int, steps: int, frames: int, actions: bool, seed: int = 0):
    """Episodes of ``env_count`` stacked CountingFrames with same-step autoreset, as BatchEnv delivers them:
    per step, (observations, actions, rewards, done envs, their final observations, terminated)."""
    envs = [gym.wrappers.FlattenObservation(FrameStack(CountingFrames(), frames, actions)) for _ in range(env_count)]
    rng = np.random.default_rng(seed)
    observation = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    for _ in range(steps):
        action = rng.integers(0, 3, env_count)
        done, final, following = [], [], observation.copy()
        rewards = np.zeros(env_count)
        for i, env in enumerate(envs):
            obs, rewards[i], terminated, truncated, _ = env.step(int(action[i]))
            if terminated or truncated:
                done.append(i)
                final.append(obs)
                obs, _ = env.reset()
            following[i] = obs
        final = np.array(final, np.uint8).reshape(len(done), observation.shape[1])
        yield observation, action, rewards, np.array(done, np.int64), final
        observation = following


@pytest.mark.parametrize("actions", [False, True])
def test_replay_rebuilds_every_stack_across_episode_boundaries_and_ring_wrap_around(actions):
    env_count, frames, steps = 2, 3, 70
    probe = gym.wrappers.FlattenObservation(FrameStack(CountingFrames(), frames, actions))
    size = int(probe.observation_space.shape[0])
    assert probe.observation_space.dtype == np.uint8
    stacking = Stacking(frames, 6, 3 if actions else 0)
    config = ReplayConfig(capacity=2 * 9)  # 9 rows a ring: about 8 wraps in 70 steps
    plain = ReplayBuffer(env_count, size, 3, config, dtype=np.uint8)
    stacked = ReplayBuffer(env_count, size, 3, config, dtype=np.uint8, stacking=stacking)
    assert stacked.frame.shape == (env_count, 9 + frames - 1, 6)  # one frame a row, S - 1 more a ring
    assert stacked.nbytes() < plain.nbytes()
    policy = np.full((env_count, 3), 1 / 3, np.float32)
    for observation, action, reward, done, final in play(env_count, steps, frames, actions):
        value = observation.sum(axis=1).astype(np.float32)  # any value that tells rows apart
        for replay in (plain, stacked):
            replay.add_step(observation, policy, value, action, reward)
            replay.end_episodes(done, final, np.ones(len(done), bool), np.zeros(len(done)))
    index = np.flatnonzero(plain.tree.get(np.arange(plain.tree.capacity)) > 0)
    assert len(index) > 10
    np.testing.assert_array_equal(index, np.flatnonzero(stacked.tree.get(np.arange(stacked.tree.capacity)) > 0))

    def value_fn(observations: np.ndarray) -> np.ndarray:
        return observations.astype(np.float64) @ np.arange(size, dtype=np.float64)

    a = plain.batch_at(index, 3, 2, 0.9, np.random.default_rng(0), value_fn)
    b = stacked.batch_at(index, 3, 2, 0.9, np.random.default_rng(0), value_fn)
    np.testing.assert_array_equal(a.observation, b.observation)
    mask = a.next_observation_mask
    np.testing.assert_array_equal(a.next_observations[mask], b.next_observations[mask])
    np.testing.assert_array_equal(a.target_value, b.target_value)  # bootstraps read the same stacks
    for name in ("actions", "target_reward", "target_policy", "value_mask", "policy_mask"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.observation.dtype == b.observation.dtype == np.uint8

    copy = ReplayBuffer(env_count, size, 3, config, dtype=np.uint8, stacking=stacking)
    copy.load_state_dict(stacked.state_dict())
    c = copy.batch_at(index, 3, 2, 0.9, np.random.default_rng(0), value_fn)
    np.testing.assert_array_equal(b.observation, c.observation)


def test_frame_stacking_with_the_end_reservoir_is_refused_with_a_message():
    config = ReplayConfig(capacity=100, end_reservoir=20)
    with pytest.raises(ValueError, match="end_reservoir"):
        ReplayBuffer(1, 18, 3, config, dtype=np.uint8, stacking=Stacking(3, 6))
