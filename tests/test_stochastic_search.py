"""The search with chance nodes (Stochastic MuZero): exact agreement of the batched kernels with the reference
search, expectimax on a small hand-made tree, outcomes visited in proportion to sigma."""

from __future__ import annotations

import numpy as np
import pytest

from muzero.config import SearchConfig
from muzero.search.gumbel import GumbelPolicy
from muzero.search.loop import search
from muzero.search.mcts import run_mcts, search_with_tree
from muzero.search.reference import run_gumbel_reference, run_mcts_reference
from tests.models import ChanceMDPModel, RandomStochasticModel


@pytest.mark.parametrize("two_player", [False, True], ids=["one-player", "two-player"])
@pytest.mark.parametrize("normalization", ["tree", "node"])
@pytest.mark.parametrize("num_actions,num_codes,simulations", [(2, 2, 50), (3, 4, 40), (5, 3, 64)])
def test_batched_chance_search_matches_the_reference_exactly(
    num_actions, num_codes, simulations, normalization, two_player
):
    model = RandomStochasticModel(num_actions, num_codes, seed=num_actions, two_player=two_player)
    rng = np.random.default_rng(1)
    observation = rng.uniform(-2, 2, size=(12, 4))
    config = SearchConfig(exploration_fraction=0.0, q_range_floor=1e-6, q_normalization=normalization)
    batched, tree = search_with_tree(model, observation, config, rng=None, num_simulations=simulations)
    assert len({tuple(v) for v in batched.visit_counts}) > 3, "the batch elements should search differently"
    # Both kinds of node were expanded, and every chance node hangs below a decision node.
    assert tree.node_is_chance.any() and (~tree.node_is_chance[:, 1:]).any()
    rows, nodes = np.nonzero(tree.node_is_chance)
    assert not tree.node_is_chance[rows, tree.parents[rows, nodes]].any()
    for i in range(len(observation)):
        visits, value = run_mcts_reference(model, observation[i], config, simulations)
        np.testing.assert_array_equal(batched.visit_counts[i], visits)
        assert batched.root_value[i] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("two_player", [False, True], ids=["one-player", "two-player"])
@pytest.mark.parametrize("num_actions,num_codes,simulations,considered", [(2, 3, 8, 16), (3, 2, 20, 2), (5, 4, 32, 4)])
def test_batched_gumbel_with_chance_matches_the_reference_exactly(
    num_actions, num_codes, simulations, considered, two_player
):
    model = RandomStochasticModel(num_actions, num_codes, seed=num_actions, two_player=two_player)
    rng = np.random.default_rng(2)
    observation = rng.uniform(-2, 2, size=(10, 4))
    gumbel = rng.gumbel(size=(10, num_actions))
    legal = rng.random((10, num_actions)) < 0.8
    legal[np.arange(10), rng.integers(0, num_actions, 10)] = True
    config = SearchConfig(algorithm="gumbel", gumbel_max_considered=considered)
    batched, tree = search(model, observation, GumbelPolicy(config, gumbel=gumbel), simulations, legal)
    assert tree.node_is_chance.any()
    for i in range(len(observation)):
        visits, policy, action = run_gumbel_reference(model, observation[i], config, simulations, gumbel[i], legal[i])
        np.testing.assert_array_equal(batched.visit_counts[i], visits)
        np.testing.assert_allclose(batched.policy[i], policy, rtol=1e-6, atol=1e-7)
        assert batched.action[i] == action


def gamble_model() -> ChanceMDPModel:
    """State 0: action 0 pays 1 for sure; action 1 pays 5 with probability 0.1, else leads to state 1, where
    action 0 pays 0.2 for sure and action 1 is a coin flip between +1 and -1.5. Expectimax (discount 1):
    V(1) = max(0.2, -0.25) = 0.2, Q(0, 0) = 1, Q(0, 1) = 0.1 * 5 + 0.9 * 0.2 = 0.68: action 0, although
    action 1's best outcome (5) is the largest reward in the tree."""
    # afterstates: 0 = (state 0, action 0), 1 = (0, 1), 2 = (1, 0), 3 = (1, 1); state 2 is terminal.
    afterstates = np.array([[0, 1], [2, 3], [0, 0]])
    chance = np.array([[1.0, 0.0], [0.1, 0.9], [1.0, 0.0], [0.5, 0.5]])
    next_states = np.array([[2, 2], [2, 1], [2, 2], [2, 2]])
    rewards = np.array([[1.0, 0.0], [5.0, 0.0], [0.2, 0.0], [1.0, -1.5]])
    terminal = np.array([False, False, True])
    return ChanceMDPModel(afterstates, chance, next_states, rewards, terminal)


@pytest.mark.parametrize("normalization", ["tree", "node"])
def test_root_values_converge_to_expectimax(normalization):
    model = gamble_model()
    config = SearchConfig(exploration_fraction=0.0, q_normalization=normalization)
    out = run_mcts(model, np.zeros((1, 1), np.float32), config, rng=None, num_simulations=20_000)
    assert out.action[0] == 0 and out.root_value[0] == pytest.approx(1.0, abs=0.05)
    assert out.q_values[0, 0] == pytest.approx(1.0, abs=1e-3)
    # The mean backup approaches expectimax from below while state 1's coin flip is still being tried, and
    # nowhere near the 5 of action 1's best outcome or its 0.5 without state 1's follow-up.
    assert 0.55 < out.q_values[0, 1] < 0.69
    # From state 1 the search takes the sure 0.2 over the coin flip worth -0.25.
    out = run_mcts(model, np.ones((1, 1), np.float32), config, rng=None, num_simulations=2000)
    np.testing.assert_allclose(out.q_values[0], [0.2, -0.25], atol=0.01)
    assert out.action[0] == 0


def test_gumbel_with_chance_finds_the_expectimax_action():
    model = gamble_model()
    config = SearchConfig(algorithm="gumbel")
    out = run_mcts(model, np.zeros((1, 1), np.float32), config, rng=None, num_simulations=400)
    assert out.action[0] == 0
    np.testing.assert_allclose(out.q_values[0], [1.0, 0.68], atol=0.05)


def test_outcomes_are_visited_in_proportion_to_sigma():
    # One action into one afterstate with three outcomes of probability 0.2, 0.5 and 0.3, each terminal.
    afterstates = np.array([[0], [1]])
    chance = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    next_states = np.array([[1, 1, 1], [1, 1, 1]])
    rewards = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    model = ChanceMDPModel(afterstates, chance, next_states, rewards, np.array([False, True]))
    config = SearchConfig(exploration_fraction=0.0)
    _, tree = search_with_tree(model, np.zeros((1, 1), np.float32), config, rng=None, num_simulations=201)
    afterstate = tree.children_index[0, 0, 0]
    assert tree.node_is_chance[0, afterstate]
    outcomes = tree.children_index[0, afterstate, 1:]  # the code slots, after the one action slot
    visits = tree.node_visits[0, outcomes]
    total = visits.sum()
    assert total == tree.node_visits[0, afterstate] - 1  # every visit but its own expansion went to an outcome
    # sigma / (N + 1) quasi-sampling keeps every count within one of its share.
    assert np.all(np.abs(visits - total * chance[0]) <= 1.0)
    # Q(root, action) is the expectation over outcomes, 0.2 + 1.0 + 0.9 = 2.1, to within a visit's weight.
    assert tree.root_q_values()[0, 0] == pytest.approx(2.1, abs=3.0 / total)
