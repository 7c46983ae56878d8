"""Recording greedy episodes as frames and saving them as animations."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch
from PIL import Image

from muzero.app.render import Recording, _pad_to_macro_blocks, record_episode, save_animation
from muzero.config import NetworkConfig, SearchConfig
from muzero.errors import UserError
from muzero.model.bridge import NetworkModel
from muzero.model.networks import MuZeroNetwork

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame draws CartPole; it must not look for a display


@pytest.fixture(scope="module")
def model() -> NetworkModel:
    torch.manual_seed(0)
    return NetworkModel(MuZeroNetwork(4, 2, NetworkConfig()), 0.997)


def _record(model: NetworkModel, frame_skip: int) -> Recording:
    search = SearchConfig(num_simulations=4)
    return record_episode(model, "CartPole-v1", search, seed=0, max_episode_steps=20, frame_skip=frame_skip)


def _moving_square(count: int) -> list[np.ndarray]:
    """Frames that all differ (a GIF merges identical neighbours), 40 x 60 pixels."""
    frames = []
    for i in range(count):
        frame = np.full((40, 60, 3), 220, np.uint8)
        frame[10:20, 5 * i : 5 * i + 10] = (200, 30, 30)
        frames.append(frame)
    return frames


def test_record_a_short_episode(model):
    every = _record(model, frame_skip=1)
    assert 3 < every.length <= 20  # long enough for frame_skip=3 to thin it
    assert every.episode_return == every.length  # CartPole pays 1 per step
    assert len(every.frames) == every.length + 1  # the reset frame, then one per step
    height, width = every.frames[0].shape[:2]
    for frame in every.frames:
        assert frame.dtype == np.uint8 and frame.shape == (height, width, 3)


def test_frame_skip_thins_frames_but_keeps_first_and_last(model):
    every = _record(model, frame_skip=1)
    thinned = _record(model, frame_skip=3)
    assert (thinned.length, thinned.episode_return) == (every.length, every.episode_return)
    kept_steps = [t for t in range(every.length + 1) if t % 3 == 0 or t == every.length]
    assert len(thinned.frames) == len(kept_steps)
    for frame, step in zip(thinned.frames, kept_steps, strict=True):
        np.testing.assert_array_equal(frame, every.frames[step])


def test_gif_round_trip(tmp_path):
    frames = _moving_square(8)
    path = save_animation(frames, tmp_path / "new" / "dir" / "episode.gif", fps=20)
    assert path == tmp_path / "new" / "dir" / "episode.gif"
    with Image.open(path) as gif:
        assert gif.n_frames == len(frames)
        assert gif.info["loop"] == 0  # loops forever
        assert gif.info["duration"] == 50
        assert gif.size == (60, 40)
        gif.seek(3)
        np.testing.assert_array_equal(np.asarray(gif.convert("RGB")), frames[3])  # few colours: exact
    assert [p.name for p in path.parent.iterdir()] == ["episode.gif"]  # no temporary file left behind


def test_gif_of_many_colours_shares_an_adaptive_palette(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(4)]  # about 1000 colours
    path = save_animation(frames, tmp_path / "noise.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == len(frames)
        assert gif.mode == "P"


def test_bad_requests_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"\.gif and \.mp4"):
        save_animation(_moving_square(2), tmp_path / "episode.avi")
    with pytest.raises(UserError, match="no frames"):
        save_animation([], tmp_path / "episode.gif")
    with pytest.raises(UserError, match="frame_skip"):
        record_episode(None, "CartPole-v1", SearchConfig(num_simulations=4), seed=0, frame_skip=0)
    assert list(tmp_path.iterdir()) == []


def test_mp4_writes_or_explains(tmp_path):
    frames = _moving_square(6)
    path = tmp_path / "episode.mp4"
    has_ffmpeg = all(importlib.util.find_spec(name) is not None for name in ("imageio", "imageio_ffmpeg"))
    if has_ffmpeg:
        assert save_animation(frames, path).stat().st_size > 0
        import imageio.v2 as imageio

        with imageio.get_reader(path) as reader:
            assert sum(1 for _ in reader) == len(frames)
    else:
        with pytest.raises(UserError, match=r"muzero\[video\]"):
            save_animation(frames, path)
        assert not path.exists()


def test_video_frames_are_padded_to_whole_macro_blocks_by_repeating_the_edge():
    frame = _moving_square(1)[0]  # 40 x 60
    padded = _pad_to_macro_blocks(frame)
    assert padded.shape == (48, 64, 3)
    np.testing.assert_array_equal(padded[:40, :60], frame)
    np.testing.assert_array_equal(padded[40:, :60], np.broadcast_to(frame[-1:], (8, 60, 3)))
    np.testing.assert_array_equal(padded[:40, 60:], np.broadcast_to(frame[:, -1:], (40, 4, 3)))
    square = np.zeros((32, 16, 3), np.uint8)
    assert _pad_to_macro_blocks(square) is square


def test_small_and_float_pictures_are_made_visible_squares_of_bytes():
    from muzero.app.render import visible

    frame = np.zeros((10, 10, 3))  # MinAtar renders 10x10 floats in [0, 1]
    frame[2, 3] = (1.0, 0.5, 0.0)
    picture = visible(frame)
    assert picture.dtype == np.uint8 and picture.shape == (160, 160, 3)
    np.testing.assert_array_equal(picture[32:48, 48:64], np.broadcast_to([255, 127, 0], (16, 16, 3)))
    assert not picture[:32].any()
    large = np.full((400, 600, 3), 7, np.uint8)  # CartPole's pictures pass unchanged
    assert visible(large) is large or np.array_equal(visible(large), large)
