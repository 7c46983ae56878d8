"""The environment adapter: batching, auto-reset, and truncation kept apart from termination."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from muzero.envs.batch import BatchEnv, env_spec, make_env
from muzero.errors import EnvironmentNotSupported


def test_truncation_is_reported_apart_from_termination_with_the_final_observation():
    envs = BatchEnv("CartPole-v1", num_envs=2, seed=0, max_episode_steps=5)
    reference = gym.make("CartPole-v1", max_episode_steps=5)
    reference.reset(seed=0)
    for t in range(5):
        before = envs.observation.copy()
        step = envs.step(np.array([t % 2, t % 2]))
        obs, reward, *_ = reference.step(t % 2)
        assert reward == step.reward[0] == 1.0
    assert step.truncated.all() and not step.terminated.any()
    np.testing.assert_allclose(step.final_observation[0], obs)  # the observation the episode ended on
    assert not np.allclose(step.observation[0], obs)  # the next episode's first observation
    np.testing.assert_array_equal(step.episode_length, [5, 5])
    np.testing.assert_array_equal(step.episode_return, [5.0, 5.0])
    assert before.shape == (2, 4)


def test_termination_is_a_true_end():
    envs = BatchEnv("CartPole-v1", num_envs=3, seed=1)
    terminated_seen = np.zeros(3, bool)
    for _ in range(60):  # always pushing right topples the pole well within 60 steps
        step = envs.step(np.ones(3, int))
        assert not step.truncated.any()
        terminated_seen |= step.terminated
        done = step.terminated
        if done.any():
            assert (np.abs(step.final_observation[done, 2]) > 0.2).all() or (
                np.abs(step.final_observation[done, 0]) > 2.4
            ).all()
    assert terminated_seen.all()


def test_batch_env_is_reproducible_from_its_seed():
    a, b = BatchEnv("CartPole-v1", 4, seed=3), BatchEnv("CartPole-v1", 4, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(100):
        actions = rng.integers(0, 2, 4)
        sa, sb = a.step(actions), b.step(actions)
        np.testing.assert_array_equal(sa.observation, sb.observation)


def test_spec_reads_threshold_and_limits():
    spec = env_spec("CartPole-v1")
    assert spec == (4, 2, 475.0, 500)


def test_unknown_environment_is_a_clear_error():
    with pytest.raises(EnvironmentNotSupported, match="unknown environment 'CartPol-v1'.*CartPole-v1"):
        make_env("CartPol-v1")


def test_continuous_actions_are_refused():
    with pytest.raises(EnvironmentNotSupported, match="Discrete action spaces"):
        make_env("Pendulum-v1")


def test_non_vector_observations_are_refused():
    with pytest.raises(EnvironmentNotSupported, match="flat Box"):
        make_env("tests.fake_envs:muzero-test/ImageEnv-v0")
