"""Environments: the vector adapter, every observation space, action masks, kwargs, factories and errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tests.fake_envs  # registers the test environments
from muzero.config import Config, SearchConfig
from muzero.envs.batch import BatchEnv
from muzero.envs.make import DEFAULT_EPISODE_LIMIT, EnvSource, legal_mask, parse_env_kwargs
from muzero.envs.spaces import ObservationEncoder
from muzero.errors import EnvironmentNotSupported
from muzero.search.mcts import run_mcts
from muzero.search.protocol import RecurrentOutput, RootOutput
from muzero.search.puct import select_actions
from muzero.training.evaluation import evaluate
from tests.fake_envs import DictCorridorEnv

# -- the vector adapter ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_truncation_is_reported_apart_from_termination_with_the_final_observation(mode):
    envs = BatchEnv(EnvSource("CartPole-v1", max_episode_steps=5), num_envs=2, seed=0, mode=mode)
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
    envs.close()


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


def test_batch_env_is_reproducible_from_its_seed_and_async_matches_sync():
    a, b = BatchEnv("CartPole-v1", 4, seed=3), BatchEnv("CartPole-v1", 4, seed=3, mode="async")
    rng = np.random.default_rng(0)
    for _ in range(100):
        actions = rng.integers(0, 2, 4)
        sa, sb = a.step(actions), b.step(actions)
        np.testing.assert_array_equal(sa.observation, sb.observation)
        np.testing.assert_array_equal(sa.done, sb.done)
    b.close()


def test_spec_reads_threshold_and_limits():
    spec = EnvSource("CartPole-v1").spec()
    assert spec[:4] == (4, 2, 475.0, 500)
    assert EnvSource("CartPole-v1", max_episode_steps=7).spec().max_episode_steps == 7


# -- observation spaces -----------------------------------------------------------------------------------------


SPACES = {
    "box 2-d": (gym.spaces.Box(-1, 1, (2, 3), np.float32), np.arange(6, dtype=np.float32).reshape(2, 3), 6),
    "discrete": (gym.spaces.Discrete(5, start=0), 3, 5),
    "multi-discrete": (gym.spaces.MultiDiscrete([2, 3]), np.array([1, 2]), 5),
    "multi-binary": (gym.spaces.MultiBinary(4), np.array([1, 0, 1, 1], np.int8), 4),
    "tuple": (gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Discrete(2))), (2, 0), 5),
    "dict": (DictCorridorEnv.observation_space, DictCorridorEnv()._observation(), 8),
}


@pytest.mark.parametrize("name", list(SPACES))
def test_every_space_converts_one_observation_and_a_batch(name):
    space, observation, size = SPACES[name]
    encoder = ObservationEncoder(space)
    assert encoder.size == size
    flat, single = encoder.encode_batch(observation)
    assert single and flat.shape == (1, size) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat[0], gym.spaces.flatten(space, observation))
    batch, single = encoder.encode_batch([observation, observation, observation])
    assert not single and batch.shape == (3, size)
    np.testing.assert_array_equal(batch, np.repeat(flat, 3, axis=0))


def test_discrete_observations_are_one_hot_and_dicts_keep_every_part():
    encoder = ObservationEncoder(gym.spaces.Discrete(4))
    np.testing.assert_array_equal(encoder.encode(2), [0, 0, 1, 0])
    np.testing.assert_array_equal(encoder.encode_batch(np.array([0, 3]))[0], [[1, 0, 0, 0], [0, 0, 0, 1]])
    corridor = ObservationEncoder(DictCorridorEnv.observation_space)
    observation = {"cell": 2, "progress": np.array([0.5], np.float32), "walls": np.array([0, 1], np.int8)}
    # Gymnasium orders Dict keys alphabetically: cell (one-hot 5), progress (1), walls (2).
    np.testing.assert_array_equal(corridor.encode(observation), [0, 0, 1, 0, 0, 0.5, 0, 1])
    batched = {k: np.stack([v, v]) for k, v in observation.items()}  # a vector env's dict of arrays
    assert corridor.encode_batch(batched)[0].shape == (2, 8)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "size"),
    [
        ("Taxi-v4", {}, 500),
        ("FrozenLake-v1", {"is_slippery": True}, 16),
        ("FrozenLake-v1", {"is_slippery": False, "map_name": "8x8"}, 64),
        ("CliffWalking-v1", {}, 48),
        ("Blackjack-v1", {}, 32 + 11 + 2),
        ("muzero-test/DictCorridor-v0", {}, 8),
    ],
)
def test_non_box_environments_run_as_flat_vectors(env_id, kwargs, size):
    envs = BatchEnv(EnvSource(env_id, kwargs), num_envs=3, seed=0)
    assert envs.observation.shape == (3, size) and envs.observation.dtype == np.float32
    rng = np.random.default_rng(0)
    for _ in range(50):
        step = envs.step(rng.integers(0, envs.num_actions, 3))
        assert step.observation.shape == (3, size)
        done = step.done
        # Each flattened observation of a one-hot space has exactly as many ones as it has parts.
        assert np.all(step.final_observation[done].sum(axis=1) > 0)


def test_environments_without_a_time_limit_get_the_default_one():
    source = EnvSource("muzero-test/NoLimit-v0")
    assert source.spec().max_episode_steps == DEFAULT_EPISODE_LIMIT
    assert source.spec().observation_size == 6  # a (2, 3) box, flattened
    assert EnvSource(factory=tests.fake_envs.NoLimitEnv).spec().max_episode_steps == DEFAULT_EPISODE_LIMIT


# -- action masks ------------------------------------------------------------------------------------------------


def test_masks_come_from_the_environment_info():
    envs = BatchEnv("Taxi-v4", num_envs=4, seed=0)
    reference = [gym.make("Taxi-v4") for _ in range(4)]
    for i, env in enumerate(reference):
        _, info = env.reset(seed=i)
        np.testing.assert_array_equal(envs.legal_actions[i], info["action_mask"].astype(bool))
    assert not envs.legal_actions.all()  # Taxi always has walls or an impossible pickup somewhere
    assert BatchEnv("CartPole-v1", 2, seed=0).legal_actions is None


def test_a_mask_with_no_legal_action_allows_every_action():
    np.testing.assert_array_equal(legal_mask(np.zeros(3, np.int8), 3), [True, True, True])
    np.testing.assert_array_equal(legal_mask(None, 2), [True, True])


class PreferLeftModel:
    """Prior logits that strongly favour action 0 ("left"), zero values and rewards everywhere."""

    num_actions = 3

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        batch = len(observation)
        logits = np.tile([8.0, 0.0, 0.0], (batch, 1))
        return RootOutput(logits, np.zeros(batch), np.zeros((batch, 1), np.float32))

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        batch = len(action)
        logits = np.tile([8.0, 0.0, 0.0], (batch, 1))
        return RecurrentOutput(np.zeros(batch), np.ones(batch), logits, np.zeros(batch), np.zeros((batch, 1)))


def test_evaluation_never_takes_an_illegal_action():
    made: list[DictCorridorEnv] = []

    def factory():
        made.append(DictCorridorEnv())
        return made[-1]

    evaluate(PreferLeftModel(), EnvSource(factory=factory, max_episode_steps=10), 4, 0, SearchConfig(num_simulations=8))
    assert len(made) >= 4 and sum(env.illegal_actions_taken for env in made) == 0
    # The same model without the environment's masks does go left from cell 0: the check can fail.
    visits = run_mcts(PreferLeftModel(), np.zeros((1, 8), np.float32), SearchConfig(num_simulations=8), None)
    assert select_actions(visits.visit_counts, 0.0, None)[0] == 0


def test_policy_targets_put_no_mass_on_illegal_actions():
    from muzero.training.trainer import Trainer

    config = Config().with_sets(
        [
            "env.id=Taxi-v4",
            "env.num_envs=4",
            "search.num_simulations=4",
            "acting.min_replay_size=10000",
            "eval.interval=100000",
        ]
    )
    trainer = Trainer(config)
    legal_seen = []
    for _ in range(30):
        legal_seen.append(trainer.envs.legal_actions.copy())
        trainer.iteration()
    policy = trainer.replay.policy[:, :30]  # (E, T, A) visit distributions stored as targets
    legal = np.stack(legal_seen, axis=1)
    assert np.all(policy[~legal] == 0.0)
    assert np.allclose(policy.sum(-1), 1.0)


# -- keyword arguments, factories and errors ---------------------------------------------------------------------


def test_env_kwargs_are_parsed_as_python_literals_or_strings():
    assert parse_env_kwargs(["is_slippery=False", "map_name=8x8", "size=3", "desc=['SF', 'HG']"]) == {
        "is_slippery": False,
        "map_name": "8x8",
        "size": 3,
        "desc": ["SF", "HG"],
    }
    with pytest.raises(EnvironmentNotSupported, match="key=value"):
        parse_env_kwargs(["is_slippery"])


def test_config_kwargs_reach_gymnasium_make():
    config = Config().with_sets(["env.id=FrozenLake-v1"]).replace({"env.kwargs": ("map_name=8x8",)})
    assert EnvSource.from_config(config.env).spec().observation_size == 64


def test_a_rejected_kwarg_is_a_clear_error():
    with pytest.raises(EnvironmentNotSupported, match="FrozenLake-v1 rejected its keyword arguments.*slipery"):
        EnvSource("FrozenLake-v1", {"is_slipery": False}).make()


def test_a_factory_with_the_users_wrappers_is_used_as_given():
    def factory():
        return gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda r: 2.0 * r)

    envs = BatchEnv(EnvSource(factory=factory), num_envs=2, seed=0)
    assert envs.step(np.zeros(2, int)).reward.tolist() == [2.0, 2.0]


def test_unknown_environment_is_a_clear_error():
    with pytest.raises(EnvironmentNotSupported, match="unknown environment 'CartPol-v1'.*CartPole-v1"):
        EnvSource("CartPol-v1").make()


def test_a_missing_optional_dependency_names_the_extra_and_not_the_same_id(monkeypatch):
    def missing(*args, **kwargs):
        raise gym.error.DependencyNotInstalled("Box2D is not installed, you can install it by run `pip install swig`")

    monkeypatch.setattr(gym, "make", missing)
    with pytest.raises(EnvironmentNotSupported) as error:
        EnvSource("LunarLander-v3").make()
    message = str(error.value)
    assert 'pip install "muzero[box2d]"' in message and "Did you mean" not in message
    assert "\n" not in message


def test_continuous_actions_are_refused():
    with pytest.raises(EnvironmentNotSupported, match="Discrete action spaces"):
        EnvSource("Pendulum-v1").make()


def test_images_too_large_to_learn_from_are_refused_with_what_to_do():
    with pytest.raises(EnvironmentNotSupported, match="300x300 images.*ResizeObservation"):
        EnvSource("tests.fake_envs:muzero-test/HugeImageEnv-v0").make()
