"""Image observations: how they are read (layout, channels, scale, storage), the residual network over them
(full resolution or downsampled), the bad-input list (each works or is one line saying what to do), and
training runs end to end on an image environment, with frames stacked."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import tests.fake_envs  # noqa: F401  (registers the muzero-test/ image environments)
from muzero.app.checkpoint import load_checkpoint, save_checkpoint
from muzero.config import Config, NetworkConfig
from muzero.envs.make import EnvSource
from muzero.envs.spaces import is_image_space, plane_layout, storage_dtype
from muzero.errors import EnvironmentNotSupported
from muzero.model.resnet import ResNetMuZeroNetwork, downsample_stages, hidden_shape
from muzero.training.trainer import Trainer


def box(shape, dtype=np.uint8, low=0, high=None):
    return gym.spaces.Box(low, (1 if dtype is bool else 255) if high is None else high, shape, dtype)


def test_images_are_told_apart_from_board_planes_and_flat_boxes_by_their_space():
    assert is_image_space(box((10, 10, 4), bool))  # MinAtar's object masks
    assert is_image_space(box((84, 84)))  # grayscale, no channel axis
    assert is_image_space(box((6, 6, 2), np.float32, 0.0, 1.0))  # bounded floats of rank 3
    assert not is_image_space(box((6, 6, 2), np.float32, -np.inf, np.inf))  # a grid of features: board planes
    assert not is_image_space(box((6, 7, 2), np.int8, 0, 1))  # PettingZoo's board planes
    assert not is_image_space(box((2, 3), np.float32, -1.0, 1.0))  # a float matrix stays a flat vector
    assert storage_dtype(box((10, 10, 4), bool)) == np.uint8 and storage_dtype(box((84, 84))) == np.uint8
    assert storage_dtype(box((6, 6, 2), np.float32, 0.0, 1.0)) == np.float32
    assert storage_dtype(gym.spaces.Box(-1.0, 1.0, (4,))) == np.float32  # CartPole's path is unchanged


@pytest.mark.parametrize(
    "space,frames,expected",
    [
        (box((10, 10, 4), bool), 1, dict(height=10, width=10, channels=4, channels_first=False, scale=1.0)),
        (box((4, 84, 84)), 1, dict(height=84, width=84, channels=4, channels_first=True, scale=1 / 255)),
        (box((84, 84)), 1, dict(height=84, width=84, channels=1, channels_first=False, scale=1 / 255)),
        (box((4, 84, 84)), 4, dict(height=84, width=84, channels=1, frames=4, channels_first=False)),
        (box((3, 10, 10, 4), bool), 3, dict(height=10, width=10, channels=4, frames=3)),
        (box((6, 6, 2), np.float32, -1.0, 1.0), 1, dict(channels=2, scale=1.0)),
        (box((6, 6, 2), np.float32, 0.0, 255.0), 1, dict(channels=2, scale=1 / 255)),
    ],
)
def test_the_layout_of_an_image_says_its_axes_frames_and_scale(space, frames, expected):
    layout = plane_layout(space, frames)
    assert layout is not None and layout.image
    for key, value in expected.items():
        assert getattr(layout, key) == pytest.approx(value), key


def test_channels_can_be_named_where_auto_guesses_wrong():
    space = box((12, 10, 8))  # not square: auto takes the shorter end axis, (H, W, C) = (12, 10, 8)
    assert plane_layout(space).channels == 8
    first = plane_layout(space, channels="first")
    assert (first.channels, first.height, first.width, first.channels_first) == (12, 10, 8, True)


@pytest.mark.parametrize(
    "side,stages,hidden",
    [(10, 0, 10), (16, 0, 16), (17, 2, 5), (64, 3, 8), (84, 4, 6), (96, 4, 6), (210, 4, 14)],
)
def test_small_images_keep_their_resolution_and_large_ones_are_downsampled_to_about_8(side, stages, hidden):
    layout = plane_layout(box((side, side, 1)))
    assert downsample_stages(layout, None) == stages
    assert hidden_shape(layout, stages) == (hidden, hidden)
    network = ResNetMuZeroNetwork(layout, 3, NetworkConfig(channels=8, blocks=1))
    out = network.represent(torch.zeros(2, side * side, dtype=torch.uint8))
    assert out.shape == (2, 8 * hidden * hidden) == (2, network.latent_size)
    assert network.action_encoding == "planes"


def test_pixels_are_scaled_once_in_the_network():
    layout = plane_layout(box((2, 2, 1)))
    network = ResNetMuZeroNetwork(layout, 2, NetworkConfig(channels=4, blocks=0))
    grid = network.grid(torch.tensor([[0, 51, 255, 255]], dtype=torch.uint8))
    assert grid.dtype == torch.float32
    np.testing.assert_allclose(grid.flatten().numpy(), [0.0, 0.2, 1.0, 1.0], atol=1e-6)


def test_stacked_channels_last_frames_become_planes_oldest_first():
    layout = plane_layout(box((2, 1, 1, 3)), frames=2)  # 2 frames of 1x1 pixels with 3 channels
    network = ResNetMuZeroNetwork(layout, 2, NetworkConfig(channels=4, blocks=0))
    grid = network.grid(torch.tensor([[1, 2, 3, 4, 5, 6]], dtype=torch.uint8)) * 255
    np.testing.assert_allclose(grid.flatten().numpy(), [1, 2, 3, 4, 5, 6], rtol=1e-6)


TINY = [
    "run.max_env_steps=40",
    "eval.interval=1000000",
    "eval.final_episodes=2",
    "env.num_envs=2",
    "search.num_simulations=3",
    "learner.batch_size=4",
    "replay.capacity=200",
    "acting.min_replay_size=20",
    "network.channels=4",
    "network.blocks=1",
    "network.hidden_size=16",
]


@pytest.mark.parametrize(
    "name,hidden",
    [
        ("ImageEnv", (8, 8)),
        ("GrayImageEnv", (12, 9)),  # one channel, no channel axis
        ("OddImageEnv", (6, 7)),  # 85x97: downsampled four times
        ("TinyImageEnv", (1, 1)),
        ("ChannelsFirstImageEnv", (8, 8)),  # (3, 64, 64)
        ("UnitFloatImageEnv", (6, 6)),
        ("ByteFloatImageEnv", (6, 6)),
        ("SignedFloatImageEnv", (6, 6)),
    ],
)
def test_unusual_images_train_end_to_end(name, hidden):
    config = Config().with_sets([f"env.id=tests.fake_envs:muzero-test/{name}-v0", *TINY])
    trainer = Trainer(config)
    network = trainer.network
    assert isinstance(network, ResNetMuZeroNetwork)
    assert (network.hidden_height, network.hidden_width) == hidden
    trainer.run()
    assert trainer.counters.env_steps >= 40 and trainer.counters.train_steps > 0
    assert trainer.replay.observation.dtype == storage_dtype(trainer.spec.observation_space)


def test_float_images_outside_their_bounds_are_one_line_saying_what_to_do():
    with pytest.raises(EnvironmentNotSupported) as error:
        EnvSource("tests.fake_envs:muzero-test/OutOfBoundsFloatImageEnv-v0").spec()
    message = str(error.value)
    assert "outside its observation space's bounds" in message and "rescale" in message and "\n" not in message


def test_frame_stacking_of_a_flat_observation_is_refused():
    with pytest.raises(EnvironmentNotSupported, match="need image observations"):
        EnvSource("CartPole-v1", frame_stack=4).spec()


@pytest.mark.parametrize("actions", [False, True])
def test_a_run_with_stacked_frames_stores_one_frame_a_row_and_resumes(tmp_path, actions):
    sets = [
        "env.id=tests.fake_envs:muzero-test/ImageEnv-v0",
        "env.frame_stack=3",
        f"env.stack_actions={str(actions).lower()}",
        *TINY,
    ]
    trainer = Trainer(Config().with_sets(sets))
    spec = trainer.spec
    codes = 3 * 2 if actions else 0
    assert spec.observation_size == 3 * 8 * 8 * 3 + codes
    assert trainer.replay.frame.shape[-1] == 8 * 8 * 3 and trainer.replay.frame.dtype == np.uint8
    assert trainer.network.layout.frames == 3 and trainer.network.layout.extra == codes
    trainer.run()
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, trainer.state_dict())
    again = Trainer(Config().with_sets(sets))
    again.load_state_dict(load_checkpoint(path))
    index = np.flatnonzero(trainer.replay.tree.get(np.arange(trainer.replay.tree.capacity)) > 0)[:8]
    a = trainer.replay.batch_at(index, 2, 2, 0.9, np.random.default_rng(0))
    b = again.replay.batch_at(index, 2, 2, 0.9, np.random.default_rng(0))
    np.testing.assert_array_equal(a.observation, b.observation)


def test_the_multilayer_perceptrons_scale_pixels_too_and_flat_observations_not_at_all():
    config = Config().with_sets(["env.id=tests.fake_envs:muzero-test/ImageEnv-v0", "network.kind=mlp", *TINY])
    network = Trainer(config).network
    assert type(network).__name__ == "MuZeroNetwork"
    np.testing.assert_allclose(network.input_scale.numpy(), np.full(8 * 8 * 3, 1 / 255), rtol=1e-6)
    assert Trainer(Config().with_sets(TINY)).network.input_scale is None  # CartPole: exactly today's path


def test_a_saved_image_agent_with_stacked_frames_and_actions_predicts_after_loading(tmp_path):
    from muzero import MuZero

    sets = ["env.frame_stack=2", "env.stack_actions=true", *TINY]
    agent = MuZero("tests.fake_envs:muzero-test/ImageEnv-v0", overrides=sets, verbose=0)
    agent.learn(40)
    env = agent.source.make_raw()
    observation, _ = env.reset(seed=0)
    assert isinstance(observation, tuple) and observation[0].shape == (2, 8, 8, 3)
    action, _ = agent.predict(observation, deterministic=True)
    path = agent.save(tmp_path / "agent")
    loaded = MuZero.load(path, verbose=0)
    assert loaded.predict(observation, deterministic=True)[0] == action
    batch = [observation, env.step(1)[0]]
    assert loaded.predict(batch, deterministic=True)[0].shape == (2,)
