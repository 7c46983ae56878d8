"""The true-rules search mode (AlphaZero's search as a control): the game's rules expand the nodes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from muzero.config import Config, NetworkConfig
from muzero.envs.games.aec import SelfPlayEnv, signed_discount
from muzero.envs.games.rules import TICTACTOE
from muzero.errors import ConfigError
from muzero.model.networks import MuZeroNetwork
from muzero.model.true_rules import ILLEGAL_LOGIT, TrueRulesModel
from muzero.search.mcts import run_mcts
from muzero.training.planning import build_model

pytest.importorskip("pettingzoo")


def position(moves: list[int]) -> np.ndarray:
    """(1, 20) the tic-tac-toe position after ``moves`` from the empty board, as the encoder writes it."""
    observation = np.zeros((1, TICTACTOE.observation_size), np.float32)
    observation[0, -2] = 1  # the first player to move
    for move in moves:
        observation = TICTACTOE.step(observation, np.array([move])).observation
    return observation


WIN = position([0, 3, 1, 4])  # X on 0, 1 and O on 3, 4, X to move: 2 wins at once (O threatens 5)
BLOCK = position([0, 3, 8, 4])  # X on 0, 8 and O on 3, 4, X to move: no win, and O wins at 5 unless blocked


@pytest.fixture
def model() -> TrueRulesModel:
    torch.manual_seed(0)
    network = MuZeroNetwork(TICTACTOE.observation_size, TICTACTOE.num_actions, NetworkConfig())
    return TrueRulesModel(network, signed_discount(0.99, two_player=True), TICTACTOE)


@pytest.mark.parametrize("algorithm", ["muzero", "gumbel"])
def test_an_untrained_network_with_the_true_rules_takes_the_win_and_blocks_the_threat(model, algorithm):
    config = Config().with_sets([f"search.algorithm={algorithm}", "search.num_simulations=50"]).search
    observations = np.concatenate([WIN, BLOCK])
    result = run_mcts(model, observations, config, None, legal_actions=TICTACTOE.legal(observations))
    assert result.greedy_action.tolist() == [2, 5]


def test_each_transition_is_the_rules_with_the_movers_discount_and_absorbing_ends(model):
    root = model.initial_inference(np.concatenate([WIN, WIN, WIN]))
    assert root.embedding.shape == (3, TICTACTOE.observation_size + 1) and not root.embedding[:, -1].any()
    np.testing.assert_array_equal(root.prior_logits[:, [0, 1, 3, 4]], ILLEGAL_LOGIT)  # occupied cells
    # Rows: a quiet move, the winning move, an illegal move (an occupied cell).
    step = model.recurrent_inference(root.embedding, np.array([8, 2, 0]))
    assert model.discount == -0.99
    np.testing.assert_allclose(step.discount, [-0.99, 0.0, 0.0])  # -gamma per move; 0 into the end
    np.testing.assert_array_equal(step.reward, [0.0, 1.0, -1.0])  # an illegal move loses
    np.testing.assert_array_equal(step.embedding[:, -1], [0, 1, 1])
    assert step.value[1] == step.value[2] == 0.0
    np.testing.assert_array_equal(step.embedding[0, :-1], TICTACTOE.step(WIN, np.array([8])).observation[0])
    assert (step.prior_logits[0, [0, 1, 3, 4, 8]] == ILLEGAL_LOGIT).all() and step.prior_logits[0, 2] > ILLEGAL_LOGIT
    # From a finished game every move earns nothing and changes nothing.
    after = model.recurrent_inference(step.embedding[1:2], np.array([5]))
    assert (after.reward[0], after.value[0], after.discount[0]) == (0.0, 0.0, 0.0)
    np.testing.assert_array_equal(after.embedding, step.embedding[1:2])
    assert model.value(TICTACTOE.step(WIN, np.array([2])).observation)[0] == 0.0  # a finished game is worth 0


def test_build_model_plans_with_the_rules_when_asked_and_refuses_environments_without_them():
    cpu = torch.device("cpu")
    board = SelfPlayEnv("tictactoe_v3").observation_space
    learned = build_model(Config().with_sets(["env.id=tictactoe_v3"]), board, 9, True, cpu)
    assert type(learned).__name__ == "NetworkModel"
    true = build_model(Config().with_sets(["env.id=tictactoe_v3", "search.model=true"]), board, 9, True, cpu)
    assert isinstance(true, TrueRulesModel) and true.discount == -0.99
    with pytest.raises(ConfigError) as error:
        cart = gym.spaces.Box(-1.0, 1.0, (4,))
        build_model(Config().with_sets(["search.model=true"]), cart, 2, False, cpu)  # CartPole
    message = str(error.value)
    assert "search.model" in message and "CartPole-v1" in message and "\n" not in message


def test_acting_evaluation_reanalyse_and_a_loaded_agent_all_plan_with_the_rules(tiny_sets, tmp_path):
    from muzero import MuZero

    overrides = [*tiny_sets, "env.id=tictactoe_v3", "search.model=true", "learner.reanalyse_fraction=0.5"]
    agent = MuZero("tictactoe_v3", overrides=overrides, verbose=0)
    trainer = agent.trainer
    assert isinstance(trainer.model, TrueRulesModel) and trainer.actor.model is trainer.model
    assert isinstance(trainer.reanalyser.model, TrueRulesModel)
    assert trainer.reanalyser.model.network is trainer.learner.target_network
    agent.learn(32)  # acting, training with Reanalyse, evaluation: every search through the rules
    result = agent.evaluate(2, opponent="random")
    assert len(result.returns) == 2
    loaded = MuZero.load(agent.save(tmp_path / "ttt"))
    assert isinstance(loaded.model, TrueRulesModel)
    move, _ = loaded.predict({"observation": WIN[0, :18].reshape(3, 3, 2), "to_play": 0}, deterministic=True)
    assert TICTACTOE.legal(WIN)[0, move]
