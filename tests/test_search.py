"""The batched search against cases with known answers and against the plain reference MCTS."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from muzero.config import SearchConfig
from muzero.search import loop
from muzero.search.gumbel import GumbelPolicy
from muzero.search.mcts import greedy_actions, run_mcts
from muzero.search.protocol import RecurrentOutput, RootOutput
from muzero.search.puct import MuZeroPolicy, dirichlet_noise, most_visited, select_actions, visit_policy
from muzero.search.reference import run_mcts_reference
from tests.models import BanditModel, RandomModel, TreeMDPModel

NO_NOISE = SearchConfig(exploration_fraction=0.0)


@pytest.mark.parametrize("normalization", ["tree", "node"])
def test_bandit_picks_the_best_arm_and_concentrates_with_more_simulations(normalization):
    arms = [0.1, 0.9, 0.5, 0.3]
    model = BanditModel(arms)
    observation = np.zeros((1, 1), np.float32)
    config = SearchConfig(exploration_fraction=0.0, q_normalization=normalization)
    shares = []
    # Per-node normalisation rates unvisited arms at the node's own (low) value, so it takes a dozen
    # simulations before every arm has been tried; from 32 on both modes must find the best arm.
    for simulations in (32, 128, 512):
        out = run_mcts(model, observation, config, rng=None, num_simulations=simulations)
        assert out.visit_counts.sum() == simulations
        assert out.visit_counts[0].argmax() == 1
        shares.append(out.visit_counts[0, 1] / simulations)
    assert shares == sorted(shares), shares
    assert shares[-1] > 0.9
    # Q of each visited arm is its known value (discount 0, so nothing after the reward counts).
    out = run_mcts(model, observation, config, rng=None, num_simulations=64)
    visited = out.visit_counts[0] > 0
    np.testing.assert_allclose(out.q_values[0][visited], np.asarray(arms)[visited])


@pytest.mark.parametrize("normalization", ["tree", "node"])
def test_tree_mdp_with_perfect_model_finds_the_delayed_reward(normalization):
    # State 0: action 0 pays 1 and leads to state 1, whose actions pay nothing and end;
    # action 1 pays 0 and leads to state 2, where action 1 pays 10 and ends. Optimal: 1 then 1.
    transitions = np.array([[1, 2], [3, 3], [3, 4], [3, 3], [4, 4]])
    rewards = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 10.0], [0.0, 0.0], [0.0, 0.0]])
    terminal = np.array([False, False, False, True, True])
    model = TreeMDPModel(transitions, rewards, terminal, discount=0.9)
    config = SearchConfig(exploration_fraction=0.0, q_normalization=normalization)
    root = np.zeros((1, 1), np.float32)
    # The first look at action 1 sees 0 against action 0's 1; a few dozen simulations reveal the 10.
    out = run_mcts(model, root, config, rng=None, num_simulations=50)
    assert out.q_values[0, 1] > out.q_values[0, 0] == 1.0
    out = run_mcts(model, root, config, rng=None, num_simulations=200)
    assert out.visit_counts[0].argmax() == 1
    assert out.visit_counts[0, 1] > 0.8 * 200
    # The root's Q for action 1 approaches its true value gamma * 10 as the search concentrates.
    assert out.q_values[0, 1] == pytest.approx(9.0, abs=0.5)
    # Starting in state 2, the search chooses action 1 (10) over action 0 (0).
    out = run_mcts(model, np.full((1, 1), 2.0, np.float32), config, rng=None, num_simulations=20)
    assert out.visit_counts[0].argmax() == 1


@pytest.mark.parametrize("two_player", [False, True], ids=["one-player", "two-player"])
@pytest.mark.parametrize("normalization", ["tree", "node"])
@pytest.mark.parametrize("num_actions,simulations", [(2, 50), (3, 40), (5, 64)])
def test_batched_search_matches_the_reference_visit_counts_exactly(num_actions, simulations, normalization, two_player):
    # Two players: the model's discounts are negative (the value flips sign every move, as mctx encodes it).
    model = RandomModel(num_actions, seed=num_actions, two_player=two_player)
    rng = np.random.default_rng(1)
    observation = rng.uniform(-2, 2, size=(12, 4))  # 12 trees whose roots all differ
    config = SearchConfig(exploration_fraction=0.0, q_range_floor=1e-6, q_normalization=normalization)
    batched = run_mcts(model, observation, config, rng=None, num_simulations=simulations)
    distinct = {tuple(v) for v in batched.visit_counts}
    assert len(distinct) > 3, "the batch elements should search differently"
    for i in range(len(observation)):
        visits, value = run_mcts_reference(model, observation[i], config, simulations)
        np.testing.assert_array_equal(batched.visit_counts[i], visits)
        assert batched.root_value[i] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("two_player", [False, True], ids=["one-player", "two-player"])
@pytest.mark.parametrize("normalization", ["tree", "node"])
def test_batched_search_matches_the_reference_with_the_same_root_noise(normalization, two_player):
    model = RandomModel(4, seed=7, two_player=two_player)
    observation = np.random.default_rng(2).uniform(-2, 2, size=(6, 4))
    config = SearchConfig(exploration_fraction=0.25, dirichlet_alpha=0.3, q_normalization=normalization)
    batched = run_mcts(model, observation, config, rng=np.random.default_rng(3), num_simulations=30)
    for i in range(len(observation)):
        visits, _ = run_mcts_reference(model, observation[i], config, 30, root_prior=batched.root_prior[i])
        np.testing.assert_array_equal(batched.visit_counts[i], visits)


def test_each_tree_is_independent_of_the_rest_of_the_batch():
    model = RandomModel(3, seed=3)
    observation = np.random.default_rng(4).uniform(-2, 2, size=(9, 4))
    together = run_mcts(model, observation, NO_NOISE, rng=None, num_simulations=30)
    for i in range(len(observation)):
        alone = run_mcts(model, observation[i : i + 1], NO_NOISE, rng=None, num_simulations=30)
        np.testing.assert_array_equal(together.visit_counts[i], alone.visit_counts[0])


def test_illegal_root_actions_are_never_visited():
    model = RandomModel(4, seed=5)
    observation = np.random.default_rng(5).uniform(-2, 2, size=(3, 4))
    legal = np.array([[True, False, True, False], [False, False, False, True], [True, True, True, True]])
    config = SearchConfig()
    out = run_mcts(model, observation, config, rng=np.random.default_rng(0), num_simulations=40, legal_actions=legal)
    assert (out.visit_counts[~legal] == 0).all()
    assert (out.root_prior[~legal] == 0).all()
    assert out.visit_counts[1, 3] == 40
    for i in range(3):
        visits, _ = run_mcts_reference(
            model, observation[i], config, 40, root_prior=out.root_prior[i], legal_actions=legal[i]
        )
        np.testing.assert_array_equal(out.visit_counts[i], visits)


def test_select_actions_greedy_and_by_temperature():
    counts = np.array([[1, 7, 2], [5, 0, 5], [0, 0, 9]])
    np.testing.assert_array_equal(select_actions(counts, 0.0, None), [1, 0, 2])
    rng = np.random.default_rng(0)
    draws = np.array([select_actions(counts[:1], 1.0, rng)[0] for _ in range(20_000)])
    frequencies = np.bincount(draws, minlength=3) / len(draws)
    np.testing.assert_allclose(frequencies, [0.1, 0.7, 0.2], atol=0.015)
    # Temperature 0.5 squares the counts: 1, 49, 4.
    draws = np.array([select_actions(counts[:1], 0.5, rng)[0] for _ in range(20_000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / len(draws), np.array([1, 49, 4]) / 54, atol=0.015)
    # An action with no visits is never sampled.
    assert (select_actions(np.tile(counts[2:], (1000, 1)), 1.0, rng) == 2).all()
    np.testing.assert_allclose(visit_policy(counts)[0], [0.1, 0.7, 0.2])


def test_greedy_choice_breaks_equal_counts_by_q_then_index():
    counts = np.array([[12, 12, 0], [8, 8, 8], [5, 9, 9], [3, 1, 1], [4, 4, 4]])
    q = np.array([[0.1, 0.3, 9.0], [0.5, -0.2, 0.7], [9.0, 0.2, 0.3], [0.0, 1.0, 2.0], [0.2, 0.2, 0.2]])
    # Unvisited or less visited actions never win on Q; equal Q too goes to the lowest index.
    np.testing.assert_array_equal(most_visited(counts, q), [1, 2, 2, 0, 0])


@pytest.mark.parametrize("rng", [None, np.random.default_rng(0)], ids=["no-rng", "rng"])
def test_the_search_acts_greedily_at_temperature_0_breaking_equal_counts_by_q(rng):
    # Two simulations visit each arm once (the second goes to the unvisited arm); arm 1 pays more, so the
    # greedy choice is 1 where the lowest-index argmax of the counts would say 0. Evaluation, predict and
    # late moves all act on this choice.
    model = BanditModel([0.1, 0.9])
    out = run_mcts(model, np.zeros((1, 1)), NO_NOISE, rng, num_simulations=2, temperature=0.0)
    assert out.visit_counts[0].tolist() == [1, 1]
    assert out.action[0] == out.greedy_action[0] == 1
    assert greedy_actions(model, np.zeros((1, 1)), SearchConfig(exploration_fraction=0.0, num_simulations=2))[0] == 1


def test_dirichlet_noise_is_a_distribution_over_legal_actions():
    legal = np.array([[True, True, False], [True, True, True]])
    noise = dirichlet_noise(np.random.default_rng(0), legal, 0.3)
    np.testing.assert_allclose(noise.sum(axis=1), 1.0)
    assert noise[0, 2] == 0


@pytest.mark.parametrize("alpha", [0.3, 3.0])
def test_dirichlet_noise_has_the_moments_of_dirichlet_alpha(alpha):
    # Dirichlet(alpha) over K legal actions: mean 1/K, variance (1/K)(1 - 1/K) / (K alpha + 1). A wrong alpha
    # (or noise that is not Dirichlet) fails the variance check by far more than its tolerance.
    legal = np.tile([True, True, False, True], (40_000, 1))
    noise = dirichlet_noise(np.random.default_rng(0), legal, alpha)
    k = 3
    assert (noise[:, 2] == 0).all()
    np.testing.assert_allclose(noise[:, legal[0]].mean(axis=0), 1 / k, atol=0.01)
    expected_variance = (1 / k) * (1 - 1 / k) / (k * alpha + 1)
    np.testing.assert_allclose(noise[:, legal[0]].var(axis=0), expected_variance, rtol=0.05)


def test_root_noise_is_mixed_into_the_root_prior_only():
    model = RandomModel(3, seed=2)
    observation = np.random.default_rng(6).uniform(-2, 2, size=(64, 4))
    config = SearchConfig(exploration_fraction=0.25, dirichlet_alpha=0.3)
    noisy = run_mcts(model, observation, config, rng=np.random.default_rng(1), num_simulations=20)
    clean = model.initial_inference(observation).prior_logits
    prior = np.exp(clean - clean.max(axis=1, keepdims=True))
    prior /= prior.sum(axis=1, keepdims=True)
    noise = (noisy.root_prior - 0.75 * prior) / 0.25  # what was mixed in: a distribution, nothing else
    assert (noise >= -1e-12).all()
    np.testing.assert_allclose(noise.sum(axis=1), 1.0)
    # Below the root the network's prior is used as it is: the reference, given this root prior and no
    # noise elsewhere, visits exactly as the batched search did.
    for i in range(8):
        visits, _ = run_mcts_reference(model, observation[i], config, 20, root_prior=noisy.root_prior[i])
        np.testing.assert_array_equal(noisy.visit_counts[i], visits)


class DiscountedBandit(BanditModel):
    """Root value v0; action a pays rewards[a] and leads to a state of value values[a], discount gamma."""

    def __init__(self, root_value, prior_logits, rewards, values, gamma):
        super().__init__(rewards)
        self.root_value, self.prior_logits = root_value, np.asarray(prior_logits, np.float64)
        self.values, self.gamma = np.asarray(values, np.float64), gamma

    def initial_inference(self, observation):
        batch = len(observation)
        return RootOutput(
            np.tile(self.prior_logits, (batch, 1)), np.full(batch, self.root_value), np.zeros((batch, 1), np.float32)
        )

    def recurrent_inference(self, embedding, action):
        batch = len(action)
        return RecurrentOutput(
            reward=self.arm_values[action],
            discount=np.full(batch, self.gamma),
            prior_logits=np.zeros((batch, self.num_actions)),
            value=self.values[action],
            embedding=np.zeros((batch, 1), np.float32),
        )


@pytest.mark.parametrize("root_value,second", [(1.0, 0), (2.0, 1)])
def test_q_is_reward_plus_discounted_value_and_an_unvisited_child_takes_the_parents_mean(root_value, second):
    # Prior 0.9 / 0.1: the first simulation visits arm 0, whose Q = 0.5 + 0.5 * 1.2 = 1.1. For the second,
    # arm 1 is unvisited and valued at the root's mean (v0 + 1.1) / 2: below Q(arm 0) when v0 = 1 (arm 0
    # again: its normalised Q 0 + 0.795 exploration beats 0 + 0.177), above it when v0 = 2 (arm 1: 1 + 0.177).
    # Q = r alone, or an unvisited child valued at 0, would choose arm 0 in both cases.
    model = DiscountedBandit(root_value, np.log([0.9, 0.1]), rewards=[0.5, 0.0], values=[1.2, 0.0], gamma=0.5)
    first = run_mcts(model, np.zeros((1, 1)), NO_NOISE, rng=None, num_simulations=1)
    assert first.visit_counts[0].tolist() == [1, 0]
    assert first.q_values[0, 0] == pytest.approx(1.1)
    assert first.root_value[0] == pytest.approx((root_value + 1.1) / 2)
    assert first.q_values[0, 1] == pytest.approx(first.root_value[0])  # unvisited: the root's mean value
    out = run_mcts(model, np.zeros((1, 1)), NO_NOISE, rng=None, num_simulations=2)
    expected_visits = [2, 0] if second == 0 else [1, 1]
    assert out.visit_counts[0].tolist() == expected_visits
    visits, _ = run_mcts_reference(model, np.zeros(1), NO_NOISE, 2)
    assert visits.tolist() == expected_visits


@pytest.mark.parametrize("algorithm", ["muzero", "gumbel"])
@pytest.mark.parametrize("seed,temperature", [(None, 0.0), (3, 0.0), (4, 1.0)], ids=["greedy", "noise", "drawn"])
def test_every_policy_returns_an_action_in_the_legal_set(algorithm, seed, temperature):
    model = RandomModel(5, seed=9)
    rng = np.random.default_rng(8)
    observation = rng.uniform(-2, 2, size=(16, 4))
    legal = rng.random((16, 5)) < 0.4
    legal[np.arange(16), rng.integers(0, 5, 16)] = True
    legal[0] = [False, False, False, True, False]  # one legal action only
    search_rng = None if seed is None else np.random.default_rng(seed)
    config = SearchConfig(algorithm=algorithm, num_simulations=12)
    out = run_mcts(model, observation, config, search_rng, legal_actions=legal, temperature=temperature)
    for action in (out.action, out.greedy_action):
        assert action.shape == (16,) and action.dtype == np.int64
        assert legal[np.arange(16), action].all()
    assert out.action[0] == 3
    if temperature == 0.0:
        np.testing.assert_array_equal(out.action, out.greedy_action)


def test_both_policies_run_through_the_same_loop(monkeypatch):
    calls = []
    simulate = loop.simulate

    def spy(model, tree, policy, plan, simulation, *leaves):
        calls.append((type(policy), simulation))
        simulate(model, tree, policy, plan, simulation, *leaves)

    monkeypatch.setattr(loop, "simulate", spy)
    observation = np.random.default_rng(0).uniform(-2, 2, size=(3, 4))
    for algorithm in ("muzero", "gumbel"):
        run_mcts(RandomModel(3, seed=1), observation, SearchConfig(algorithm=algorithm), None, num_simulations=5)
    assert calls == [(MuZeroPolicy, s) for s in range(5)] + [(GumbelPolicy, s) for s in range(5)]


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_muzero_draws_its_action_after_the_root_noise_from_the_same_rng(temperature):
    model = RandomModel(4, seed=6)
    observation = np.random.default_rng(1).uniform(-2, 2, size=(32, 4))
    config = SearchConfig(num_simulations=16)
    drawn = run_mcts(model, observation, config, np.random.default_rng(5), temperature=temperature)
    # The same noise, then the draw from the visit counts with what is left of the generator.
    rng = np.random.default_rng(5)
    greedy = run_mcts(model, observation, config, rng, temperature=0.0)
    np.testing.assert_array_equal(greedy.visit_counts, drawn.visit_counts)
    np.testing.assert_array_equal(drawn.action, select_actions(greedy.visit_counts, temperature, rng))
    np.testing.assert_array_equal(drawn.greedy_action, greedy.action)
    assert (drawn.action != drawn.greedy_action).any()  # some draws leave the most visited action


def test_gumbel_acts_the_same_at_any_temperature():
    model = RandomModel(4, seed=6)
    observation = np.random.default_rng(1).uniform(-2, 2, size=(8, 4))
    config = SearchConfig(algorithm="gumbel", num_simulations=8)
    cold = run_mcts(model, observation, config, np.random.default_rng(5), temperature=0.0)
    hot = run_mcts(model, observation, config, np.random.default_rng(5), temperature=1.0)
    np.testing.assert_array_equal(cold.action, hot.action)
    np.testing.assert_array_equal(hot.action, hot.greedy_action)


def search_imports() -> dict[str, set[str]]:
    """Module -> the muzero.search modules it imports anywhere: at the top, inside functions, under TYPE_CHECKING."""
    folder = Path(loop.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {n for n in names if n.startswith("muzero.search.") and n.count(".") == 2}
        graph[f"muzero.search.{path.stem}"] = found - {f"muzero.search.{path.stem}"}
    return graph


def test_no_module_of_the_search_imports_another_in_a_circle():
    graph = search_imports()
    assert {"muzero.search.loop", "muzero.search.protocol"} <= graph["muzero.search.puct"]
    assert {"muzero.search.loop", "muzero.search.protocol"} <= graph["muzero.search.gumbel"]
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module not in done:
            for imported in graph.get(module, ()):
                visit(imported, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())


class CountingModel(RandomModel):
    """A RandomModel that counts its recurrent calls (one per simulation)."""

    calls = 0

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        self.calls += 1
        return super().recurrent_inference(embedding, action)


@pytest.mark.parametrize("algorithm", ["muzero", "gumbel"])
def test_greedy_play_searches_with_greedy_simulations_and_self_play_with_num_simulations(algorithm):
    observation = np.random.default_rng(0).normal(size=(3, 4))
    for greedy, expected_greedy in ((None, 12), (40, 40)):
        config = SearchConfig(algorithm=algorithm, num_simulations=12, greedy_simulations=greedy)
        model = CountingModel(num_actions=3)
        greedy_actions(model, observation, config)
        assert model.calls == expected_greedy
        model.calls = 0
        run_mcts(model, observation, config, np.random.default_rng(0), temperature=1.0)
        assert model.calls == 12
