"""Self-play's temporally extended exploration: random legal actions, repeated, never illegal."""

from __future__ import annotations

import numpy as np

import tests.fake_envs  # noqa: F401 (registers the test environments)
from muzero.config import SearchConfig
from muzero.envs.batch import BatchEnv
from muzero.training.acting import Actor


def make_actor(probability: float, max_repeat: int) -> Actor:
    envs = BatchEnv("muzero-test/DictCorridor-v0", num_envs=64, seed=0)
    return Actor(envs, None, None, SearchConfig(), np.random.default_rng(0), 1.0, probability, max_repeat)


def test_exploring_repeats_one_random_action_for_at_most_max_repeat_steps():
    actor = make_actor(probability=1.0, max_repeat=3)
    search_actions = np.full(64, 2)  # what the search would do: "stay"
    legal = np.ones((64, 3), bool)
    previous = actor.explore(search_actions, legal)
    seen = [previous]
    for _ in range(30):
        repeating = actor.repeat_left > 0
        assert actor.repeat_left.max() <= 2  # 1..3 steps, the first already taken
        actions = actor.explore(search_actions, legal)
        np.testing.assert_array_equal(actions[repeating], previous[repeating])
        previous = actions
        seen.append(actions)
    assert set(np.unique(seen)) == {0, 1, 2}  # random actions, not the search's


def test_no_exploration_keeps_the_search_actions_and_illegal_actions_are_never_taken():
    actor = make_actor(probability=0.0, max_repeat=8)
    search_actions = np.arange(64) % 3
    np.testing.assert_array_equal(actor.explore(search_actions, None), search_actions)
    actor = make_actor(probability=0.5, max_repeat=8)
    legal = np.zeros((64, 3), bool)
    legal[:, 1:] = True  # "left" illegal everywhere
    for _ in range(50):
        assert (actor.explore(np.ones(64, int), legal) != 0).all()
    explored = np.stack([actor.explore(np.ones(64, int), legal) for _ in range(50)])
    assert (explored == 2).mean() > 0.2  # exploring happens, among the legal actions only


def test_spread_gives_each_environment_its_own_probability_like_ape_x():
    envs = BatchEnv("muzero-test/DictCorridor-v0", num_envs=5, seed=0)
    actor = Actor(envs, None, None, SearchConfig(), np.random.default_rng(0), 1.0, 0.5, 8, explore_spread=4.0)
    np.testing.assert_allclose(actor.explore_probability, [0.5, 0.25, 0.125, 0.0625, 0.03125])
    flat = Actor(envs, None, None, SearchConfig(), np.random.default_rng(0), 1.0, 0.5, 8)
    np.testing.assert_allclose(flat.explore_probability, 0.5)


def test_stored_rows_align_observation_action_reward_and_final_row():
    from muzero.config import Config
    from muzero.training.trainer import Trainer
    from tests.fake_envs import CountingEnv

    config = Config().with_sets(
        ["env.num_envs=3", "search.num_simulations=2", "acting.min_replay_size=1000000", "replay.capacity=60"]
    )
    trainer = Trainer(config, env_factory=CountingEnv)
    for _ in range(35):  # more rows than the 20 each environment keeps: the rings wrap around
        trainer.iteration()
    replay = trainer.replay
    checked_rows = checked_finals = 0
    for env in range(3):
        for slot in range(replay.rows_per_env):
            position = replay.position[env, slot]
            tag, t = replay.observation[env, slot]
            if replay.is_final[env, slot]:
                # The final row holds the observation the last action led to, and the episode's end.
                previous = (position - 1) % replay.rows_per_env
                if replay.position[env, previous] == position - 1:
                    assert replay.observation[env, previous, 0] == tag
                    assert t == replay.observation[env, previous, 1] + 1
                    length = int(t)
                    assert replay.terminated[env, slot] == (length % 2 == 1)
                    checked_finals += 1
                continue
            # A searched row: the reward is the one for taking this row's action in this row's observation.
            assert replay.reward[env, slot] == 10.0 * t + replay.action[env, slot]
            checked_rows += 1
    assert checked_rows > 30 and checked_finals >= 6
    assert replay.head.min() > replay.rows_per_env  # wrapped


def test_after_temperature_moves_an_episode_takes_the_most_visited_action():
    from muzero.config import Config
    from muzero.search import mcts
    from muzero.training.trainer import Trainer

    config = Config().with_sets(["env.num_envs=8", "search.num_simulations=4", "acting.temperature_moves=3"])
    trainer = Trainer(config)
    chosen = []
    run = mcts.run_mcts

    def recording_search(*args, **kwargs):
        result = run(*args, **kwargs)
        chosen.append((trainer.envs.episode_steps, result.visit_counts.argmax(axis=1)))
        return result

    actor = trainer.actor
    taken = []
    original_step = trainer.envs.step
    trainer.envs.step = lambda actions: (taken.append(np.asarray(actions)), original_step(actions))[1]
    import muzero.training.acting as acting

    acting.run_mcts, saved = recording_search, acting.run_mcts
    try:
        for _ in range(12):
            actor.step(temperature=1.0)
    finally:
        acting.run_mcts = saved
    late_moves = early_moves = early_differs = 0
    for (steps, greedy), actions in zip(chosen, taken, strict=True):
        late = steps >= 3
        np.testing.assert_array_equal(actions[late], greedy[late])
        late_moves += late.sum()
        early_moves += (~late).sum()
        early_differs += (actions[~late] != greedy[~late]).sum()
    assert late_moves > 0 and early_moves > 0 and early_differs > 0  # the first moves still sample
