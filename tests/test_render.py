"""Recording evaluation episodes and saving them as animations."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from PIL import Image

from muzero.config import NetworkConfig, SearchConfig
from muzero.errors import UserError
from muzero.model import NetworkModel
from muzero.networks import MuZeroNetwork
from muzero.render import record_episode, save_animation

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@pytest.fixture(scope="module")
def model() -> NetworkModel:
    return NetworkModel(MuZeroNetwork(4, 2, NetworkConfig()), 0.997)


def test_record_a_short_episode(model):
    recording = record_episode(
        model, "CartPole-v1", SearchConfig(num_simulations=4), seed=0, max_episode_steps=20, frame_skip=1
    )
    assert recording.length == len(recording.frames) - 1 == recording.episode_return
    frame = recording.frames[0]
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    thinned = record_episode(
        model, "CartPole-v1", SearchConfig(num_simulations=4), seed=0, max_episode_steps=20, frame_skip=3
    )
    assert thinned.length == recording.length
    assert len(thinned.frames) < len(recording.frames)
    np.testing.assert_array_equal(thinned.frames[-1], recording.frames[-1])  # the last frame is always kept


def test_gif_round_trip(tmp_path):
    frames = []
    for i in range(8):  # a square moving across a grey field
        frame = np.full((40, 60, 3), 200, np.uint8)
        frame[10:20, 5 * i : 5 * i + 10] = (200, 30, 30)
        frames.append(frame)
    path = save_animation(frames, tmp_path / "sub" / "episode.gif", scale=1.0)
    with Image.open(path) as gif:
        assert gif.n_frames == 8
        assert gif.info["loop"] == 0
        assert gif.size == (60, 40)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_bad_requests_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"\.gif and \.mp4"):
        save_animation([np.zeros((4, 4, 3), np.uint8)], tmp_path / "x.avi")
    with pytest.raises(UserError, match="no frames"):
        save_animation([], tmp_path / "x.gif")


def test_mp4_writes_or_explains(tmp_path):
    frames = [np.zeros((32, 32, 3), np.uint8)] * 3
    has_ffmpeg = (
        importlib.util.find_spec("imageio") is not None and importlib.util.find_spec("imageio_ffmpeg") is not None
    )
    if has_ffmpeg:
        assert save_animation(frames, tmp_path / "x.mp4").stat().st_size > 0
    else:
        with pytest.raises(UserError, match="imageio"):
            save_animation(frames, tmp_path / "x.mp4")
