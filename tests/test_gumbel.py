"""Gumbel MuZero against answers worked out by hand and against the plain one-tree reference."""

from __future__ import annotations

import numpy as np
import pytest

from muzero.config import SearchConfig
from muzero.search.gumbel import GumbelPolicy, halving_schedule
from muzero.search.loop import search
from muzero.search.mcts import run_mcts
from muzero.search.protocol import RootOutput
from muzero.search.reference import run_gumbel_reference
from tests.models import BanditModel, RandomModel

GUMBEL = SearchConfig(algorithm="gumbel")


def test_sequential_halving_schedule_worked_out_by_hand():
    # 16 simulations, m = 4: ceil(log2 4) = 2 phases. Phase 1: 16 // (2 * 4) = 2 visits for each of 4 actions
    # (targets 0,0,0,0 then 1,1,1,1). Phase 2: 16 // (2 * 2) = 4 visits for each of the 2 survivors
    # (targets 2,2 3,3 4,4 5,5). Final visits 6, 6, 2, 2.
    assert halving_schedule(4, 16) == (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5)
    # 8 simulations, m = 3: 2 phases; phase 1: max(1, 8 // 6) = 1 visit each (0,0,0); phase 2: 8 // 4 = 2
    # visits for 2 survivors (1,1 2,2); the budget left (1 simulation) continues with 2 survivors (3).
    assert halving_schedule(3, 8) == (0, 0, 0, 1, 1, 2, 2, 3)
    # Fewer simulations than actions: only the first few considered actions get a visit.
    assert halving_schedule(16, 4) == (0, 0, 0, 0)
    # One considered action takes every simulation.
    assert halving_schedule(1, 5) == (0, 1, 2, 3, 4)


def test_the_schedule_drives_the_root_visits():
    model = RandomModel(4, seed=11)
    observation = np.random.default_rng(0).uniform(-2, 2, size=(5, 4))
    out = run_mcts(model, observation, SearchConfig(algorithm="gumbel", gumbel_max_considered=4), None, 16)
    for counts in out.visit_counts:
        assert sorted(counts.tolist()) == [2, 2, 6, 6]


@pytest.mark.parametrize("seed", range(20))
def test_two_arms_two_simulations_always_choose_the_better_arm(seed):
    rng = np.random.default_rng(seed)
    arms = rng.uniform(-1, 1, size=2)
    while abs(arms[0] - arms[1]) < 1e-3:
        arms = rng.uniform(-1, 1, size=2)

    class Prior(BanditModel):
        def initial_inference(self, observation):
            batch = len(observation)
            # Any prior, even a misleading one, whose logit gap is below sigma's range (c_visit + 1) * c_scale = 5.1.
            logits = np.tile(rng.uniform(-2.5, 2.5, size=2), (batch, 1))
            return RootOutput(logits, np.zeros(batch), np.zeros((batch, 1), np.float32))

    config = SearchConfig(algorithm="gumbel", gumbel_scale=0.0)
    out = run_mcts(Prior(list(arms)), np.zeros((1, 1)), config, None, num_simulations=2)
    assert out.visit_counts[0].tolist() == [1, 1]
    assert out.action[0] == int(np.argmax(arms))


def test_improved_policy_is_at_least_as_good_as_the_prior():
    rng = np.random.default_rng(0)
    for _ in range(200):
        num_actions = int(rng.integers(2, 6))
        arms = rng.uniform(-1, 1, size=num_actions)
        logits = rng.normal(size=num_actions) * 2.0

        class Prior(BanditModel):
            def initial_inference(self, observation, logits=logits):
                return RootOutput(logits[None], np.zeros(1), np.zeros((1, 1), np.float32))

        simulations = int(rng.integers(num_actions, 4 * num_actions + 1))  # every arm visited: exact Q
        out = run_mcts(Prior(list(arms)), np.zeros((1, 1)), GUMBEL, rng, num_simulations=simulations)
        prior = np.exp(logits - logits.max())
        prior /= prior.sum()
        assert out.policy[0] @ arms >= prior @ arms - 1e-6


def test_completed_q_of_an_unvisited_action_is_the_mixed_value():
    # Root value v = 0.5 (the network's), priors (0.5, 0.3, 0.2) from these logits, arm 0 pays 1.0, arm 1 pays
    # -0.4 and both are visited once (m = 2 considered actions, 2 simulations); arm 2 is never visited.
    logits = np.log([0.5, 0.3, 0.2])

    class Model(BanditModel):
        def initial_inference(self, observation):
            return RootOutput(logits[None], np.array([0.5]), np.zeros((1, 1), np.float32))

    config = SearchConfig(algorithm="gumbel", gumbel_max_considered=2, gumbel_scale=0.0)
    out, _ = search(Model([1.0, -0.4, 3.0]), np.zeros((1, 1)), GumbelPolicy(config), num_simulations=2)
    assert out.visit_counts[0].tolist() == [1, 1, 0]
    # v_mix = (v + N * sum_visited pi q / sum_visited pi) / (1 + N) = (0.5 + 2 * (0.5 - 0.12) / 0.8) / 3
    mixed = (0.5 + 2 * (0.5 * 1.0 + 0.3 * -0.4) / 0.8) / 3
    assert mixed == pytest.approx(0.48333333)
    # The improved policy is softmax(logits + sigma(q)) with q = (1.0, -0.4, v_mix) rescaled to [0, 1]
    # and sigma's scale (c_visit + max N) * c_scale = (50 + 1) * 0.1.
    q = np.array([1.0, -0.4, mixed])
    sigma = (50 + 1) * 0.1 * (q - q.min()) / (q.max() - q.min())
    expected = np.exp(logits + sigma) / np.exp(logits + sigma).sum()
    np.testing.assert_allclose(out.policy[0], expected, rtol=1e-5)


@pytest.mark.parametrize("two_player", [False, True], ids=["one-player", "two-player"])
@pytest.mark.parametrize("num_actions,simulations,considered", [(2, 8, 16), (3, 20, 2), (5, 32, 4), (6, 50, 16)])
def test_batched_gumbel_matches_the_reference_exactly(num_actions, simulations, considered, two_player):
    model = RandomModel(num_actions, seed=num_actions, two_player=two_player)
    rng = np.random.default_rng(1)
    observation = rng.uniform(-2, 2, size=(10, 4))
    gumbel = rng.gumbel(size=(10, num_actions))
    legal = rng.random((10, num_actions)) < 0.8
    legal[np.arange(10), rng.integers(0, num_actions, 10)] = True
    config = SearchConfig(algorithm="gumbel", gumbel_max_considered=considered)
    batched, _ = search(model, observation, GumbelPolicy(config, gumbel=gumbel), simulations, legal)
    assert len({tuple(v) for v in batched.visit_counts}) >= 2, "the batch elements should search differently"
    for i in range(len(observation)):
        visits, policy, action = run_gumbel_reference(model, observation[i], config, simulations, gumbel[i], legal[i])
        np.testing.assert_array_equal(batched.visit_counts[i], visits)
        np.testing.assert_allclose(batched.policy[i], policy, rtol=1e-6, atol=1e-7)
        assert batched.action[i] == batched.greedy_action[i] == action
        assert (batched.visit_counts[i][~legal[i]] == 0).all() and (batched.policy[i][~legal[i]] == 0).all()


def test_each_gumbel_tree_is_independent_of_the_rest_of_the_batch():
    model = RandomModel(4, seed=3)
    rng = np.random.default_rng(4)
    observation = rng.uniform(-2, 2, size=(9, 4))
    gumbel = rng.gumbel(size=(9, 4))
    legal = rng.random((9, 4)) < 0.7
    legal[np.arange(9), rng.integers(0, 4, 9)] = True
    config = SearchConfig(algorithm="gumbel", gumbel_max_considered=4)
    together, _ = search(model, observation, GumbelPolicy(config, gumbel=gumbel), 20, legal)
    assert len({tuple(v) for v in together.visit_counts}) > 3, "the batch elements should search differently"
    for i in range(len(observation)):
        alone, _ = search(
            model, observation[i : i + 1], GumbelPolicy(config, gumbel=gumbel[i : i + 1]), 20, legal[i : i + 1]
        )
        np.testing.assert_array_equal(together.visit_counts[i], alone.visit_counts[0])
        np.testing.assert_array_equal(together.policy[i], alone.policy[0])
        assert together.action[i] == alone.action[0]
