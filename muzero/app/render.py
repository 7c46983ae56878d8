"""Watch the agent: record an evaluation episode as frames and save it as a GIF (or an MP4).

The episode is played exactly as evaluation plays it (no root noise, the most-visited action),
so what the animation shows is what the evaluation numbers measure.

Letters: H frame height, W frame width, D observation size, A actions.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import NamedTuple

import gymnasium as gym
import numpy as np
from PIL import Image

from muzero.config import SearchConfig
from muzero.envs.games.opponents import make_opponent
from muzero.envs.make import EnvSource, legal_mask
from muzero.envs.spaces import ObservationEncoder
from muzero.errors import UserError
from muzero.search.mcts import greedy_actions
from muzero.search.protocol import Model

SUPPORTED_SUFFIXES = (".gif", ".mp4")


class Recording(NamedTuple):
    frames: list[np.ndarray]  # each (H, W, 3) uint8
    episode_return: float  # undiscounted
    length: int  # steps taken


def record_episode(
    model: Model,
    source: EnvSource | str,
    search: SearchConfig,
    seed: int,
    max_episode_steps: int | None = None,
    frame_skip: int = 2,
    opponent: str | None = None,
    agent_first: bool = True,
) -> Recording:
    """Play one greedy episode, keeping every ``frame_skip``-th frame and always the first and last.

    The default of 2 at 30 frames per second plays CartPole (50 steps a second) at about real speed.
    A two-player game is the agent playing itself, or with ``opponent`` (e.g. ``perfect``) that
    opponent, the agent moving first if ``agent_first``; the return is then the agent's score
    (1 win, 0.5 draw, 0 loss; for self-play the first player's).
    """
    if frame_skip < 1:
        raise UserError(f"frame_skip must be at least 1, got {frame_skip}")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        # Off-screen frames need no window; without this, SDL complains on headless machines.
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if isinstance(source, str):
        source = EnvSource(source, max_episode_steps=max_episode_steps)
    env_id = source.name
    env = source.make_raw(render_mode="rgb_array")
    encoder = ObservationEncoder(env.observation_space)
    player = None if opponent is None or source.game is None else make_opponent(opponent, source.game)
    agent_colour = 0 if agent_first or player is None else 1
    rng = np.random.default_rng(seed)
    try:
        observation, info = env.reset(seed=seed)
        frames = [_render_frame(env, env_id)]
        episode_return, length, done = 0.0, 0, False
        while not done:
            legal = legal_mask(info.get("action_mask"), int(env.action_space.n))
            if player is not None and observation["to_play"] != agent_colour:
                action = player.act(observation["observation"], legal, rng)
            else:
                action = int(greedy_actions(model, encoder.encode(observation)[None], search, legal[None])[0])
            observation, reward, terminated, truncated, info = env.step(action)
            episode_return += float(reward)
            length += 1
            done = bool(terminated or truncated)
            if done or length % frame_skip == 0:
                frames.append(_render_frame(env, env_id))
    finally:
        env.close()
    if source.game is not None:  # the agent's score (self-play: the first player's)
        winner = info.get("winner", -1)
        episode_return = 0.5 if winner < 0 else float(winner == agent_colour)
    return Recording(frames, episode_return, length)


def _render_frame(env: gym.Env, env_id: str) -> np.ndarray:
    """(H, W, 3) uint8 picture of the current state, or a UserError if the environment can't draw one."""
    try:
        frame = env.render()
    except Exception as error:  # back ends fail in many ways: no display, missing pygame, no renderer at all
        raise UserError(f"{env_id} cannot render frames (render_mode='rgb_array' failed: {error})") from None
    if frame is None:
        raise UserError(f"{env_id} returned no frame; it does not support render_mode='rgb_array'")
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise UserError(f"{env_id} rendered an array of shape {frame.shape}, not an (H, W, 3) RGB picture")
    return visible(frame)


VISIBLE_SIDE = 160  # small pictures are blown up to about this many pixels a side


def visible(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 a person can see: float pictures in [0, 1] (MinAtar's) brought to 0-255, and pictures
    smaller than 160 pixels a side (MinAtar's 10x10) enlarged by a whole factor, each pixel a square."""
    if np.issubdtype(frame.dtype, np.floating) and frame.size and float(frame.max()) <= 1.0:
        frame = frame * 255.0
    frame = np.clip(frame, 0, 255).astype(np.uint8, copy=False)
    factor = VISIBLE_SIDE // max(frame.shape[:2])
    if factor > 1:
        frame = frame.repeat(factor, axis=0).repeat(factor, axis=1)
    return frame


def save_animation(frames: list[np.ndarray], path: str | Path, fps: int = 30) -> Path:
    """Write (H, W, 3) uint8 frames to ``path`` as a looping ``.gif`` or an ``.mp4``, atomically.

    In a GIF, consecutive identical frames are merged into one longer frame.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UserError(f"cannot write {path.name!r}: supported formats are {' and '.join(SUPPORTED_SUFFIXES)}")
    if not frames:
        raise UserError("there are no frames to save")
    if fps < 1:
        raise UserError(f"fps must be at least 1, got {fps}")
    frames = _check_frames(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary file beside the target, renamed over it, so a reader never sees half an animation.
    handle, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
    os.close(handle)
    temporary = Path(temporary_name)
    os.chmod(temporary, 0o644)  # mkstemp makes files private; an animation is meant to be shared
    try:
        if suffix == ".gif":
            _write_gif(frames, temporary, fps)
        else:
            _write_mp4(frames, temporary, fps)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _check_frames(frames: list[np.ndarray]) -> list[np.ndarray]:
    first = np.asarray(frames[0])
    if first.ndim != 3 or first.shape[2] != 3:
        raise ValueError(f"frames must be (H, W, 3) arrays, got shape {first.shape}")
    if any(np.shape(frame) != first.shape for frame in frames):
        raise ValueError("all frames must have the same shape")
    return [np.asarray(frame, np.uint8) for frame in frames]


def _write_gif(frames: list[np.ndarray], path: Path, fps: int) -> None:
    # One palette for every frame keeps colours steady and lets Pillow store only what changed between frames.
    images = _exact_palette_images(frames) or _adaptive_palette_images(frames)
    # GIF delays count in hundredths of a second, and browsers slow anything under 20 ms down to 100 ms.
    duration = max(20, round(1000 / fps))
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], loop=0, duration=duration)


def _pack_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W) uint32 colour codes 0xRRGGBB of an (H, W, 3) uint8 frame."""
    rgb = frame.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _exact_palette_images(frames: list[np.ndarray]) -> list[Image.Image] | None:
    """Paletted images with every colour kept exactly, or None if the frames use more than 256 colours.

    Simple scenes (CartPole draws a few dozen colours) fit; Pillow's own palette mapping is
    approximate and would blend near-white shades, so the mapping is done here with a lookup table.
    """
    seen = np.zeros(1 << 24, bool)  # indexed by colour code
    for frame in frames:
        seen[_pack_rgb(frame)] = True
    colours = np.flatnonzero(seen)
    if len(colours) > 256:
        return None
    palette_index = np.zeros(1 << 24, np.uint8)
    palette_index[colours] = np.arange(len(colours))
    palette = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1).astype(np.uint8).ravel().tolist()
    images = []
    for frame in frames:
        image = Image.fromarray(palette_index[_pack_rgb(frame)])  # mode "L"; putpalette makes it "P"
        image.putpalette(palette)
        images.append(image)
    return images


def _adaptive_palette_images(frames: list[np.ndarray]) -> list[Image.Image]:
    """Paletted images sharing a 256-colour palette fitted to up to eight frames spread over the episode."""
    samples = frames[:: max(1, len(frames) // 8)][:8]
    palette = Image.fromarray(np.concatenate(samples, axis=1)).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    return [Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]


def _write_mp4(frames: list[np.ndarray], path: Path, fps: int) -> None:
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (imageio's ffmpeg plugin needs it)
    except ImportError:
        raise UserError(
            'MP4 output needs imageio with ffmpeg: pip install "muzero[video]" (or save a .gif, which needs nothing)'
        ) from None
    with imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps) as writer:
        for frame in frames:
            writer.append_data(_pad_to_macro_blocks(frame))


def _pad_to_macro_blocks(frame: np.ndarray, block: int = 16) -> np.ndarray:
    """Pad height and width to multiples of ``block`` by repeating the edge, so video codecs
    take the frame as it is (otherwise imageio rescales it and prints a warning)."""
    height, width = frame.shape[:2]
    pad = ((0, -height % block), (0, -width % block), (0, 0))
    return np.pad(frame, pad, mode="edge") if any(p[1] for p in pad) else frame


def animation_settings(source: EnvSource) -> tuple[int, int]:
    """(frame_skip, frames per second) that show an episode at a watchable speed: every move of a game at 2 fps."""
    return (1, 2) if source.game is not None else (2, 30)
