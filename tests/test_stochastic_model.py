"""Stochastic MuZero's model: the networks of chance (flat and spatial), the straight-through code, the losses,
and what sigma learns from deterministic and from random transitions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from muzero.config import Config, LearnerConfig, NetworkConfig, SearchConfig
from muzero.envs.game2048 import slide
from muzero.errors import ConfigError
from muzero.model.bridge import StochasticNetworkModel
from muzero.model.networks import MuZeroNetwork, chance_code
from muzero.presets import get_preset
from muzero.replay.buffer import TrainingBatch
from muzero.search.mcts import search_with_tree
from muzero.search.protocol import StochasticModel
from muzero.training.learner import Learner
from muzero.training.planning import build_model, build_network

STOCHASTIC = {"network.dynamics": "stochastic", "network.chance_codes": 5}
SPACES = {
    "mlp": gym.spaces.Box(-1.0, 1.0, (6,), np.float32),
    "resnet": gym.spaces.Box(0, 1, (3, 3, 2), np.int8),  # board planes
}


def stochastic_config(**sets: object) -> Config:
    return Config().with_sets([f"{k}={v}" for k, v in {**STOCHASTIC, **sets}.items()])


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_stochastic_networks_have_the_shapes_of_chance(kind):
    config = stochastic_config(**{"network.kind": kind, "network.channels": 8})
    space = SPACES[kind]
    network = build_network(config, space, 4)
    assert network.num_chance_codes == 5
    size = gym.spaces.flatdim(space)
    observation = torch.rand(7, size)
    state = network.represent(observation)
    afterstate = network.afterstate(state, torch.arange(7) % 4)
    assert afterstate.shape == state.shape and afterstate.min() >= 0.0 and afterstate.max() <= 1.0
    chance_logits, value_logits = network.afterstate_predict(afterstate)
    assert chance_logits.shape == (7, 5) and value_logits.shape == (7, 2 * network.value_support_size + 1)
    code, _ = chance_code(network.encode_chance(observation, torch.rand(7, size)))
    next_state, reward_logits = network.chance_dynamics(afterstate, code)
    assert next_state.shape == state.shape and reward_logits.shape == (7, 2 * network.reward_support_size + 1)
    # Untrained, sigma is uniform and Q is zero: the search starts unbiased.
    assert torch.allclose(torch.softmax(chance_logits, -1), torch.full((7, 5), 0.2))


def test_the_chance_code_is_one_hot_forward_and_passes_its_gradient_straight_through():
    encoding = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]], requires_grad=True)
    code, same = chance_code(encoding)
    assert torch.equal(code.detach(), torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])) and same is encoding
    weights = torch.tensor([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]])
    (code * weights).sum().backward()
    assert torch.equal(encoding.grad, weights)


def test_a_stochastic_model_searches_with_chance_nodes_and_refuses_the_true_rules():
    config = stochastic_config()
    model = build_model(config, SPACES["mlp"], 3, two_player=False, device=torch.device("cpu"))
    assert isinstance(model, StochasticNetworkModel) and isinstance(model, StochasticModel)
    out, tree = search_with_tree(model, np.random.default_rng(0).normal(size=(4, 6)), SearchConfig(), None, 12)
    assert tree.node_is_chance[:, 1:].any() and out.visit_counts.sum(axis=1).tolist() == [12] * 4
    # A read-out of one whole transition (diagnose) goes through the most likely code.
    embedding = model.initial_inference(np.zeros((2, 6), np.float32)).embedding
    step = model.recurrent_inference(embedding, np.array([0, 2], np.int32))
    assert step.embedding.shape == embedding.shape and np.all(step.discount == config.discount)
    with pytest.raises(Exception, match="deterministic"):
        build_model(
            stochastic_config(**{"search.model": "true", "env.id": "tictactoe_v3"}),
            SPACES["mlp"],
            3,
            two_player=True,
            device=torch.device("cpu"),
        )


NUM_STATES, NUM_ACTIONS = 6, 2


def transitions(batch_size: int, slippery: bool, rng: np.random.Generator, labelled: bool = False) -> TrainingBatch:
    """One-step batches of a small MDP over one-hot states: action a moves from s to s + a + 1 (mod 6), or, when
    ``slippery``, to one of s + a, s + a + 1 and s + a + 2 with equal chance; the reward tells the state reached."""
    state = rng.integers(0, NUM_STATES, batch_size)
    action = rng.integers(0, NUM_ACTIONS, batch_size)
    slip = rng.integers(-1, 2, batch_size) if slippery else np.zeros(batch_size, np.int64)
    reached = (state + action + 1 + slip) % NUM_STATES
    eye = np.eye(NUM_STATES, dtype=np.float32)
    reward = np.zeros((batch_size, 2), np.float32)
    reward[:, 1] = reached
    return TrainingBatch(
        observation=eye[state],
        actions=action[:, None],
        target_value=np.zeros((batch_size, 2), np.float32),
        value_mask=np.ones((batch_size, 2), bool),
        target_reward=reward,
        reward_mask=np.array([[False, True]] * batch_size),  # column 0 has no reward to predict
        target_policy=np.full((batch_size, 2, NUM_ACTIONS), 0.5, np.float32),
        policy_mask=np.ones((batch_size, 2), bool),
        next_observations=eye[reached][:, None],
        next_observation_mask=np.ones((batch_size, 1), bool),
        # With ``labelled`` the environment names the outcome: the slip, as 0, 1, 2.
        next_chance=(slip + 1 if labelled else np.full(batch_size, -1))[:, None],
        weight=np.ones(batch_size, np.float32),
        index=np.arange(batch_size),
    )


def train_sigma(slippery: bool, steps: int = 400, labelled: bool = False) -> np.ndarray:
    """(S, A, C) sigma of every afterstate after training on ``transitions``."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = NetworkConfig(
        hidden_size=32,
        latent_size=16,
        dynamics="stochastic",
        chance_codes=6,
        reward_support_size=6,
        chance_labels="env" if labelled else "encoder",
    )
    network = MuZeroNetwork(NUM_STATES, NUM_ACTIONS, config)
    learner = Learner(network, LearnerConfig(learning_rate=3e-3, lr_warmup_steps=1, unroll_steps=1, compile="off"))
    for _ in range(steps):
        losses, _ = learner.update(transitions(64, slippery, rng, labelled))
    assert losses.chance > 0 and losses.afterstate_value > 0
    assert losses.commitment == 0 if labelled else losses.commitment >= 0  # no encoder to commit
    with torch.no_grad():
        states = network.represent(torch.eye(NUM_STATES).repeat_interleave(NUM_ACTIONS, 0))
        actions = torch.arange(NUM_ACTIONS).repeat(NUM_STATES)
        logits, _ = network.afterstate_predict(network.afterstate(states, actions))
    return torch.softmax(logits, -1).view(NUM_STATES, NUM_ACTIONS, -1).numpy()


def test_deterministic_transitions_put_sigma_on_one_code_and_random_ones_spread_it():
    certain = train_sigma(slippery=False).max(axis=-1)  # (S, A) the largest share of one code
    assert certain.min() > 0.9, certain
    # Three equally likely outcomes that the reward tells apart: the encoder gives them different codes (two of
    # them may share one), and sigma learns their mix.
    sigma = train_sigma(slippery=True)
    assert sigma.max(axis=-1).mean() < 0.7 and (sigma > 0.1).sum(axis=-1).min() >= 2, sigma.max(axis=-1)


def test_codes_named_by_the_environment_are_learned_as_they_are():
    sigma = train_sigma(slippery=True, labelled=True)  # (S, A, C): the three slips are codes 0, 1, 2
    assert np.abs(sigma[..., :3] - 1 / 3).max() < 0.1 and sigma[..., 3:].sum(-1).max() < 0.05, sigma


def test_diagnose_unrolls_a_stochastic_model_through_the_codes_of_the_observed_transitions(monkeypatch):
    from muzero import MuZero
    from muzero.app.diagnose import diagnose

    agent = MuZero("FrozenLake-v1", verbose=0, overrides={**STOCHASTIC, "search.num_simulations": 4})
    model = agent.model
    assert isinstance(model, StochasticNetworkModel)
    seen = []
    observed = model.observed_codes

    def spy(observation, next_observation):
        codes = observed(observation, next_observation)
        seen.append((len(observation), codes))
        return codes

    monkeypatch.setattr(model, "observed_codes", spy)
    report = diagnose(agent, episodes=2, max_k=2)
    assert seen and all(n == len(codes) and ((codes >= 0) & (codes < 5)).all() for n, codes in seen)
    assert [entry["k"] for entry in report["per_k"]][:2] == [0, 1] and "reward_mae" in report["per_k"][1]


def test_diagnose_unrolls_through_the_codes_the_environment_named(monkeypatch):
    from muzero import MuZero
    from muzero.app.diagnose import record_trajectories, unroll

    overrides = {"network.dynamics": "stochastic", "network.chance_codes": 32, "search.num_simulations": 2}
    agent = MuZero("muzero/2048-v0", verbose=0, overrides={**overrides, "env.max_episode_steps": 30})
    assert agent.model.network.chance_labels
    monkeypatch.setattr(agent.model, "observed_codes", lambda *_: pytest.fail("the encoder is not what was trained"))
    trajectory = record_trajectories(agent, episodes=1, seed=0)[0]
    assert len(trajectory["chances"]) == len(trajectory["actions"]) and (trajectory["chances"] >= 0).all()
    predictions = unroll(agent.model, trajectory, max_k=2)
    assert np.isfinite(predictions["value"][: len(trajectory["actions"]) - 2]).all()


@pytest.mark.parametrize(
    "env_id,kwargs,chance",
    [
        ("CartPole-v1", (), False),
        ("Acrobot-v1", (), False),
        ("Taxi-v4", (), False),
        ("FrozenLake-v1", ("is_slippery=False",), False),
        ("FrozenLake-v1", (), True),
        ("muzero/2048-v0", (), True),
        ("Blackjack-v1", (), True),
        # PettingZoo's games deep-copy into new, unplayed games (EzPickle): the probe must not read that as chance.
        ("tictactoe_v3", (), False),
        ("connect_four_v3", (), False),
    ],
)
def test_the_probe_finds_chance_where_an_observation_and_action_have_two_outcomes(env_id, kwargs, chance):
    from muzero.config import EnvConfig
    from muzero.envs.batch import EnvSource
    from muzero.envs.make import probe

    for seed in range(3):
        found = probe(EnvSource.from_config(EnvConfig(id=env_id, kwargs=kwargs)), 2_000, seed=seed)
        assert found.chance == chance, seed
        assert found.repeats >= 1  # evidence: a copy stepped beside it, or an (observation, action) met twice


def test_auto_dynamics_is_resolved_before_the_network_is_built_and_said_once():
    from muzero.training.trainer import Trainer

    slippery = Trainer(Config().with_sets(["env.id=FrozenLake-v1", "network.dynamics=auto"]))
    assert slippery.config.network.dynamics == "stochastic" and isinstance(slippery.model, StochasticNetworkModel)
    assert len(slippery.notes) == 1 and "network.dynamics=deterministic" in slippery.notes[0]
    cartpole = Trainer(Config())  # the default: auto
    assert cartpole.config.network.dynamics == "deterministic" and not cartpole.notes
    assert not isinstance(cartpole.model, StochasticNetworkModel)
    assert slippery.config.network.chance_labels == "encoder"  # FrozenLake's info names no outcome


def test_outcomes_the_environment_names_become_the_codes_and_reach_the_learner_step_by_step():
    from muzero.training.trainer import Trainer

    game = Trainer(get_preset("game2048").with_sets(["env.num_envs=2", "network.chance_labels=auto"]))
    assert game.config.network.chance_labels == "env" and game.network.chance_labels
    assert any("chance_labels auto -> env" in note for note in game.notes)
    for _ in range(6):
        game.actor.step(1.0)
    batch = game.replay.batch_at(np.array([game.replay.flat_index(0, 0)]), 3, 1, 0.9, np.random.default_rng(0))
    # The label after action k is the new tile that is in next_observations[k] and was not there before.
    boards = batch.next_observations[0].reshape(3, 16, 16).argmax(-1)  # (K, 16) exponents
    before = batch.observation[0].reshape(16, 16).argmax(-1)
    for k in range(3):
        moved, _ = slide(before.reshape(4, 4), int(batch.actions[0, k]))
        cell = int(np.flatnonzero(boards[k] != moved.reshape(-1))[0])
        assert batch.next_chance[0, k] == 2 * cell + int(boards[k][cell] == 2)
        before = boards[k]
    with pytest.raises(ConfigError, match="chance_codes"):
        Trainer(get_preset("game2048").with_sets(["env.num_envs=1", "network.chance_codes=8"]))
