"""The residual network over board planes: where the grid lies, how actions are drawn, and which network a run gets."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from muzero.config import Config, NetworkConfig
from muzero.envs.spaces import ObservationEncoder, plane_layout
from muzero.model.networks import MuZeroNetwork
from muzero.model.resnet import PlaneLayout, ResNetMuZeroNetwork, action_encoding, action_planes
from muzero.training.planning import build_network

SMALL = NetworkConfig(channels=4, blocks=1, hidden_size=8, projection_size=8)

# A board game's observation as muzero.envs.games.aec gives it: planes and the player to move.
BOARD = gym.spaces.Dict({"observation": gym.spaces.Box(0, 1, (6, 7, 2), np.int8), "to_play": gym.spaces.Discrete(2)})


def test_plane_layout_finds_the_grid_of_a_board_and_nothing_in_flat_observations():
    assert plane_layout(BOARD) == PlaneLayout(6, 7, 2, offset=0, size=86)
    # Dict keys are flattened in sorted order: a part before the grid moves its offset.
    tagged = gym.spaces.Dict({"a": gym.spaces.Discrete(3), "board": gym.spaces.Box(0, 1, (3, 3, 2))})
    assert plane_layout(tagged) == PlaneLayout(3, 3, 2, offset=3, size=21)
    # A whole observation of bounded floats of rank 3 is an image (tests/test_images.py); unbounded, board planes.
    assert plane_layout(gym.spaces.Box(-np.inf, np.inf, (5, 4, 3))) == PlaneLayout(5, 4, 3, offset=0, size=60)
    assert plane_layout(gym.spaces.Box(0.0, 1.0, (5, 4, 3))).image
    assert plane_layout(gym.spaces.Box(-1.0, 1.0, (4,))) is None
    assert plane_layout(gym.spaces.Discrete(500)) is None
    two_grids = gym.spaces.Tuple((gym.spaces.Box(0, 1, (2, 2, 1)), gym.spaces.Box(0, 1, (2, 2, 1))))
    assert plane_layout(two_grids) is None  # ambiguous: the MLP takes it


def test_the_grid_holds_the_boards_planes_channels_first_and_each_other_feature_as_a_constant_plane():
    rng = np.random.default_rng(0)
    planes = rng.integers(0, 2, (6, 7, 2)).astype(np.int8)
    flat = ObservationEncoder(BOARD).encode({"observation": planes, "to_play": 1})
    network = ResNetMuZeroNetwork(plane_layout(BOARD), 7, SMALL)
    grid = network.grid(torch.as_tensor(flat)[None])[0]  # (C + E, H, W)
    assert grid.shape == (4, 6, 7)
    np.testing.assert_array_equal(grid[:2].numpy(), planes.transpose(2, 0, 1))
    assert (grid[2] == 0).all() and (grid[3] == 1).all()  # one-hot to_play = (0, 1)


@pytest.mark.parametrize(("num_actions", "encoding"), [(9, "cell"), (3, "column"), (4, "planes")])
def test_actions_are_drawn_as_the_cell_the_column_or_their_own_plane(num_actions, encoding):
    layout = PlaneLayout(3, 3, 2, offset=0, size=18)
    assert action_encoding(num_actions, layout) == encoding
    planes = action_planes(num_actions, layout)  # (A, P, H, W)
    if encoding == "cell":
        assert planes.shape == (9, 1, 3, 3) and planes[5, 0, 1, 2] == 1 and planes[5].sum() == 1
    elif encoding == "column":
        assert planes.shape == (3, 1, 3, 3) and (planes[2, 0, :, 2] == 1).all() and planes[2].sum() == 3
    else:
        assert planes.shape == (4, 4, 3, 3) and (planes[1, 1] == 1).all() and planes[1].sum() == 9


def test_states_are_spatial_scaled_per_sample_and_independent_of_the_rest_of_the_batch():
    torch.manual_seed(0)
    network = ResNetMuZeroNetwork(plane_layout(BOARD), 7, SMALL)
    observation = torch.rand(5, 86)
    state = network.represent(observation)
    assert state.shape == (5, 4 * 42)
    torch.testing.assert_close(state.min(1).values, torch.zeros(5))
    torch.testing.assert_close(state.max(1).values, torch.ones(5))
    next_state, reward = network.dynamics(state, torch.tensor([0, 1, 2, 3, 6]))
    policy, value = network.predict(next_state)
    assert next_state.shape == state.shape and reward.shape == (5, 2 * network.reward_support_size + 1)
    assert policy.shape == (5, 7) and value.shape == (5, 2 * network.value_support_size + 1)
    assert (policy == 0).all() and (value == 0).all() and (reward == 0).all()  # an unbiased start
    # Per-sample normalisation: one sample's state does not depend on what else is in its batch.
    torch.testing.assert_close(network.represent(observation[2:3]), state[2:3])


def test_auto_takes_the_residual_network_for_boards_and_the_mlp_for_flat_observations():
    flat = gym.spaces.Box(-1.0, 1.0, (4,))
    assert isinstance(build_network(Config(), BOARD, 7), ResNetMuZeroNetwork)
    assert isinstance(build_network(Config(), flat, 2), MuZeroNetwork)
    assert isinstance(build_network(Config().with_sets(["network.kind=mlp"]), BOARD, 7), MuZeroNetwork)
    with pytest.raises(ValueError, match="network.kind = 'mlp'"):
        build_network(Config().with_sets(["network.kind=resnet"]), flat, 2)


def test_the_residual_network_trains_through_the_learner(tiny_config):
    pytest.importorskip("pettingzoo")
    from muzero.training.trainer import Trainer

    config = tiny_config(64, "env.id=tictactoe_v3", "network.channels=4", "network.blocks=1", "env.max_episode_steps=9")
    trainer = Trainer(config)
    assert isinstance(trainer.network, ResNetMuZeroNetwork)
    before = [p.detach().clone() for p in trainer.network.parameters()]
    trainer.run()
    assert trainer.counters.train_steps > 0
    changed = [not torch.equal(a, b) for a, b in zip(before, trainer.network.parameters(), strict=True)]
    assert sum(changed) > len(changed) // 2
