"""Where environments come from: a Gymnasium id with keyword arguments, or a user's factory.

``EnvSource`` builds single environments (evaluation, rendering) and vector environments
(training) the same way, checks their spaces once, and turns Gymnasium's many failure modes
into one-line ``EnvironmentNotSupported`` messages: an unknown id (with close matches), a missing
optional dependency (with the extra that installs it), a keyword argument the environment
rejects, a continuous action space, an image too large to learn from.

Families that must be registered first are registered on demand: ``MinAtar/...`` (the ``minatar``
extra) and ``ALE/...`` (the ``atari`` extra). Atari environments get Gymnasium's ``AtariPreprocessing``
(``env.atari_preprocessing``; ``ATARI_PREPROCESSING``) on a frameskip-1 base. Image environments can
have their frames stacked (``env.frame_stack``, ``muzero.envs.stacking.FrameStack``).

Every environment it returns is wrapped in Gymnasium's ``FlattenObservation``, so what the
networks read is always one flat vector per observation (see ``muzero.envs.spaces``).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FlattenObservation, TimeLimit

from muzero.envs.games.aec import SelfPlayEnv, is_game, short_name
from muzero.envs.spaces import check_action_space, check_observation_space, is_image_space
from muzero.envs.stacking import FrameStack
from muzero.errors import EnvironmentNotSupported

# Optional dependencies some Gymnasium environments need, and the muzero extra that installs each.
EXTRAS = {"box2d": "box2d", "pygame": "box2d", "mujoco": "mujoco", "ale_py": "atari", "cv2": "atari"}

# Gymnasium's AtariPreprocessing as muzero applies it to ALE/ environments (the DQN and Atari 100k conventions):
# up to 30 no-op actions at reset, an action repeated for 4 frames with the last two max-pooled, grayscale,
# 84x84, uint8 (scaled in the network), and a lost life is not the end of an episode. The base environment
# runs at frameskip 1 without sticky actions, so that frame skipping happens once, here.
ATARI_PREPROCESSING = {
    "noop_max": 30,
    "frame_skip": 4,
    "screen_size": 84,
    "terminal_on_life_loss": False,
    "grayscale_obs": True,
    "scale_obs": False,
}
ATARI_BASE_KWARGS = {"frameskip": 1, "repeat_action_probability": 0.0}

VECTORIZATION_MODES = ("sync", "async")

# Environments registered without a time limit (CliffWalking, a user's own) get this one, so that
# neither training nor a greedy evaluation can loop forever; env.max_episode_steps overrides it.
DEFAULT_EPISODE_LIMIT = 1_000


class EnvSpec(NamedTuple):
    observation_size: int  # D, after flattening
    num_actions: int
    reward_threshold: float | None
    max_episode_steps: int | None
    observation_space: gym.Space  # the environment's own space, before flattening
    two_player: bool = False  # a PettingZoo game played by self-play (muzero.envs.games)


def parse_env_kwargs(items: Sequence[str]) -> dict[str, Any]:
    """``["is_slippery=False", "map_name=8x8"]`` -> ``{"is_slippery": False, "map_name": "8x8"}``.

    Values are read as Python literals where they are one (numbers, booleans, None, lists,
    quoted strings) and kept as plain strings otherwise.
    """
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise EnvironmentNotSupported(f"environment keyword arguments are key=value, got {item!r}")
        try:
            kwargs[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            kwargs[key] = raw.strip()
    return kwargs


class EnvSource:
    """One environment definition: ``gymnasium.make(env_id, **kwargs)`` or ``factory()``.

    ``factory`` is any callable returning a ``gymnasium.Env`` (a user's own class, or an
    environment with the user's wrappers); if it accepts ``render_mode`` it gets one when
    rendering. ``max_episode_steps`` overrides (or adds) the time limit; an environment that has
    none gets ``DEFAULT_EPISODE_LIMIT``. A PettingZoo game id (``tictactoe_v3``, ``connect_four_v3``
    or a module path ``pettingzoo.classic.<game>``) becomes a ``SelfPlayEnv``; ``game`` is then its
    short name.
    """

    def __init__(
        self,
        env_id: str | None = None,
        kwargs: dict[str, Any] | None = None,
        max_episode_steps: int | None = None,
        factory: Callable[..., gym.Env] | None = None,
        frame_stack: int = 1,
        stack_actions: bool = False,
        image_channels: str = "auto",
        atari_preprocessing: bool | None = None,
    ) -> None:
        if env_id is None and factory is None:
            raise ValueError("an environment needs an id or a factory")
        self.env_id = env_id
        self.kwargs = dict(kwargs or {})
        self.max_episode_steps = max_episode_steps
        self.factory = factory
        self.frame_stack = frame_stack
        self.stack_actions = stack_actions
        self.image_channels = image_channels
        is_atari = factory is None and env_id is not None and env_id.startswith("ALE/")
        self.atari = is_atari if atari_preprocessing is None else bool(atari_preprocessing and is_atari)
        self.name = env_id if env_id else getattr(factory, "__name__", "custom environment")
        self.game = short_name(env_id) if factory is None and is_game(env_id) else None
        if self.game is not None:
            self.factory = functools.partial(SelfPlayEnv, env_id, self.kwargs)

    @classmethod
    def from_config(cls, env_config: Any, factory: Callable[..., gym.Env] | None = None) -> EnvSource:
        """From an ``EnvConfig`` (id, kwargs, limit, image settings); a factory, if given, replaces the id."""
        return cls(
            env_config.id,
            parse_env_kwargs(env_config.kwargs),
            env_config.max_episode_steps,
            factory,
            frame_stack=env_config.frame_stack,
            stack_actions=env_config.stack_actions,
            image_channels=env_config.image_channels,
            atari_preprocessing=env_config.atari_preprocessing,
        )

    @property
    def stacked(self) -> bool:
        """Whether observations go through ``FrameStack`` (frames or actions stacked)."""
        return self.frame_stack > 1 or self.stack_actions

    # -- single environments ------------------------------------------------------------------------------------

    def make_raw(self, render_mode: str | None = None) -> gym.Env:
        """The environment as it is (observations not flattened), checked to be one muzero handles."""
        env = self._build(render_mode)
        try:
            check_action_space(self.name, env.action_space)
            check_observation_space(self.name, env.observation_space, self.image_channels)
            if self.stacked and not is_image_space(env.observation_space):
                raise EnvironmentNotSupported(
                    f"env.frame_stack and env.stack_actions need image observations; {self.name}'s are "
                    f"{env.observation_space}: leave them at 1 and false"
                )
        except EnvironmentNotSupported:
            env.close()
            raise
        return FrameStack(env, self.frame_stack, self.stack_actions) if self.stacked else env

    def make(self, render_mode: str | None = None) -> gym.Env:
        """The environment with flat observations, as training, evaluation and rendering see it."""
        return FlattenObservation(self.make_raw(render_mode))

    def spec(self) -> EnvSpec:
        env = self.make_raw()
        try:
            check_image_values(self.name, env)
            spec = env.spec
            limit = _time_limit(env)
            return EnvSpec(
                observation_size=int(gym.spaces.flatdim(env.observation_space)),
                num_actions=int(env.action_space.n),
                reward_threshold=spec.reward_threshold if spec is not None else None,
                max_episode_steps=limit,
                observation_space=env.observation_space,
                two_player=self.game is not None,
            )
        finally:
            env.close()

    def _build(self, render_mode: str | None) -> gym.Env:
        if self.factory is not None:
            return self._from_factory(render_mode)
        register_family(self.env_id)
        kwargs = self._make_kwargs()
        if render_mode is not None:
            kwargs["render_mode"] = render_mode
        try:
            env = gym.make(self.env_id, **kwargs)
            if self.atari:
                env = gym.wrappers.AtariPreprocessing(env, **ATARI_PREPROCESSING)
                if self.max_episode_steps is not None:  # counted in agent steps, outside the frame skipping
                    env = TimeLimit(env, self.max_episode_steps)
            return env
        except (gym.error.DependencyNotInstalled, ImportError) as error:  # before gym.error.Error, its base
            raise EnvironmentNotSupported(_missing_dependency(self.env_id, error)) from None
        except gym.error.Error as error:
            raise EnvironmentNotSupported(_unknown_id(self.env_id, error)) from None
        except TypeError as error:
            given = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items()) or "none"
            raise EnvironmentNotSupported(f"{self.env_id} rejected its keyword arguments ({given}): {error}") from None

    def _make_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``gymnasium.make``: the user's, and the time limit."""
        kwargs = dict(self.kwargs)
        if self.atari:  # ALE truncates at 108,000 frames itself; a user's limit is applied outside the skipping
            return ATARI_BASE_KWARGS | kwargs
        limit = self.max_episode_steps
        if limit is None:
            registered = gym.registry.get(self.env_id)
            if registered is not None and registered.max_episode_steps is None:
                limit = DEFAULT_EPISODE_LIMIT
        if limit is not None:
            kwargs["max_episode_steps"] = limit
        return kwargs

    def _from_factory(self, render_mode: str | None) -> gym.Env:
        env = None
        if render_mode is not None:
            try:
                env = self.factory(render_mode=render_mode)
            except TypeError:
                env = None
        if env is None:
            env = self.factory()
        if not isinstance(env, gym.Env):
            raise EnvironmentNotSupported(
                f"the environment factory {self.name} returned {type(env).__name__}, not a gymnasium.Env"
            )
        if self.max_episode_steps is not None:
            env = TimeLimit(env, self.max_episode_steps)
        elif _time_limit(env) is None:
            env = TimeLimit(env, DEFAULT_EPISODE_LIMIT)
        return env

    # -- vector environments ------------------------------------------------------------------------------------

    def make_vec(self, num_envs: int, mode: str = "sync") -> gym.vector.VectorEnv:
        """``num_envs`` flat-observation copies through Gymnasium's vector API, reset on the step they end.

        Same-step autoreset: a step that ends an episode returns the next episode's first
        observation, and the observation it ended on in ``info["final_obs"]``.
        """
        if mode not in VECTORIZATION_MODES:
            raise EnvironmentNotSupported(
                f"vectorization must be one of {', '.join(VECTORIZATION_MODES)}, got {mode!r}"
            )
        self.make().close()  # fail here, in this process, with a clear message
        vector_kwargs = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        if mode == "async":
            vector_kwargs["context"] = "fork"
        if self.factory is None and not (self.atari or self.stacked):
            kwargs = self._make_kwargs()
            return gym.make_vec(
                self.env_id,
                num_envs,
                vectorization_mode=mode,
                vector_kwargs=vector_kwargs,
                wrappers=[FlattenObservation],
                **kwargs,
            )
        vector_class = gym.vector.SyncVectorEnv if mode == "sync" else gym.vector.AsyncVectorEnv
        return vector_class([self.make for _ in range(num_envs)], **vector_kwargs)


def register_family(env_id: str) -> None:
    """Register the environments of ``muzero/``, ``MinAtar/`` and ``ALE/`` ids with Gymnasium (their packages
    do not on import); a missing package is a one-line error naming the extra that installs it."""
    if env_id in gym.registry:
        return
    family = env_id.split("/", 1)[0] if "/" in env_id else None
    if family == "muzero":  # muzero's own: muzero/PixelGrid-v0, muzero/2048-v0
        from muzero.envs import game2048, pixel_grid

        pixel_grid.register()
        game2048.register()
    elif family == "MinAtar":
        try:
            import minatar.gym
        except ImportError:
            raise EnvironmentNotSupported(
                f'{env_id} needs the optional dependency minatar; install it with: pip install "muzero[minatar]"'
            ) from None
        minatar.gym.register_envs()
    elif family == "ALE":
        try:
            import ale_py
        except ImportError:
            raise EnvironmentNotSupported(
                f'{env_id} needs the optional dependency ale-py; install it with: pip install "muzero[atari]"'
            ) from None
        gym.register_envs(ale_py)


def check_image_values(name: str, env: gym.Env) -> None:
    """A float image environment's first observation must lie inside its space's bounds, which tell the network
    how to scale it (``muzero.envs.spaces.image_scale``)."""
    space = env.observation_space
    frame = space.spaces[0] if isinstance(space, gym.spaces.Tuple) and isinstance(env, FrameStack) else space
    if not is_image_space(frame) or not np.issubdtype(frame.dtype, np.floating):
        return
    observation, _ = env.reset(seed=0)
    values = np.asarray(observation[0] if isinstance(observation, tuple) else observation)
    low, high = float(values.min()), float(values.max())
    if low < float(frame.low.min()) or high > float(frame.high.max()):
        raise EnvironmentNotSupported(
            f"{name}'s image values reach [{low:g}, {high:g}], outside its observation space's bounds "
            f"[{float(frame.low.min()):g}, {float(frame.high.max()):g}] (muzero scales images by their bounds): "
            f"declare the true bounds, or rescale the images to [0, 1] or [0, 255]"
        )


def _time_limit(env: gym.Env) -> int | None:
    """The episode step limit of an environment: its spec's, or that of a TimeLimit wrapper inside it."""
    if env.spec is not None and env.spec.max_episode_steps is not None:
        return int(env.spec.max_episode_steps)
    while isinstance(env, gym.Wrapper):
        if isinstance(env, TimeLimit):
            return int(env._max_episode_steps)
        env = env.env
    return None


def _missing_dependency(env_id: str, error: Exception) -> str:
    text = str(error)
    name = getattr(error, "name", None) or ""
    key = next((k for k in EXTRAS if k in name.lower() or k in text.lower()), None)
    if key is not None:
        extra = EXTRAS[key]
        return f'{env_id} needs the optional dependency {key}; install it with: pip install "muzero[{extra}]"'
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"{env_id} needs a package that is not installed ({first_line})"


def _unknown_id(env_id: str, error: Exception) -> str:
    close = [c for c in difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6) if c != env_id]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"unknown environment {env_id!r} ({error}).{hint}"


def legal_mask(mask: Any, num_actions: int) -> np.ndarray:
    """(A,) bool legal actions from one environment's ``action_mask`` (all legal when it has none).

    A mask with no legal action at all (some environments publish one on their last step) is
    read as "anything goes": the search needs at least one action to consider.
    """
    if mask is None:
        return np.ones(num_actions, bool)
    legal = np.asarray(mask).astype(bool).reshape(num_actions)
    return legal if legal.any() else np.ones(num_actions, bool)


def legal_actions_from_info(info: dict, num_envs: int, num_actions: int) -> np.ndarray | None:
    """(B, A) bool legal actions from a vector environment's stacked infos, or None when none publish masks."""
    mask = info.get("action_mask")
    if mask is None:
        return None
    present = np.asarray(info.get("_action_mask", np.ones(num_envs, bool)), bool)
    return np.stack([legal_mask(mask[i] if present[i] else None, num_actions) for i in range(num_envs)])


def chance_labels_from_info(info: dict, done: np.ndarray) -> np.ndarray | None:
    """(B,) int64 the chance outcome each environment's step named in ``info["chance"]`` (-1 where one did
    not), from a same-step-autoreset vector environment's stacked infos (those of the steps that ended an
    episode are under ``final_info``); None when no step named one."""
    labels = np.full(len(done), -1, np.int64)
    found = False
    for source, rows in ((info, ~done), (info.get("final_info") or {}, done)):
        if "chance" in source:
            present = np.asarray(source.get("_chance", np.ones(len(done), bool)), bool) & rows
            labels[present] = np.asarray(source["chance"])[present].astype(np.int64)
            found = True
    return labels if found else None


class Probe(NamedTuple):
    """What a random policy finds out about an environment before training (``probe``)."""

    max_abs_reward: float  # the largest |reward| met
    chance: bool  # one state and action led to two different outcomes
    repeats: int  # (observation, action) pairs met more than once, and states stepped twice from a copy
    chance_labels: bool = False  # every step's info named its chance outcome (info["chance"])
    max_chance_label: int = -1  # the largest it named


def _fingerprint(value: Any) -> int:
    """A hash of an observation of any space (arrays by dtype, shape and bytes; ints; tuples and dicts of them)."""
    if isinstance(value, dict):
        return hash(tuple((key, _fingerprint(value[key])) for key in sorted(value)))
    if isinstance(value, tuple | list):
        return hash(tuple(_fingerprint(item) for item in value))
    array = np.asarray(value)
    return hash((array.dtype.str, array.shape, array.tobytes()))


COPY_TRIALS = 100  # steps of a probe that are also taken from a reseeded copy of the environment


def _copy_outcome(env: gym.Env, action: int, seed: int | None) -> int | None:
    """The outcome of ``action`` from a copy of ``env``, its random generator (Gymnasium's ``np_random``,
    where environments draw their chance) reseeded with ``seed`` unless None; None where it cannot be copied."""
    twin = None
    try:
        twin = copy.deepcopy(env)
        if seed is not None:
            twin.unwrapped.np_random = np.random.default_rng(seed)
        observation, reward, terminated, _, _ = twin.step(action)
    except Exception:  # any environment that does not copy (simulators, sockets) is skipped
        return None
    finally:
        if twin is not None:
            with contextlib.suppress(Exception):
                twin.close()
    return hash((_fingerprint(observation), float(reward), bool(terminated)))


def _twin_outcomes(env: gym.Env, action: int, rng: np.random.Generator) -> tuple[int, int] | None:
    """The outcomes of ``action`` from two copies of ``env``: one as it is, one with its random generator
    reseeded; None where it cannot be copied. The first must match the real step, or the copy is not a
    copy: environments that pickle by their constructor's arguments (PettingZoo's and Box2D's EzPickle)
    deep-copy into a new, unplayed environment."""
    same = _copy_outcome(env, action, None)
    reseeded = _copy_outcome(env, action, int(rng.integers(2**63))) if same is not None else None
    return None if reseeded is None else (same, reseeded)


def probe(source: EnvSource, steps: int, seed: int) -> Probe:
    """``steps`` steps of a uniformly random (legal) policy: the largest |reward| it meets, and whether the
    environment has chance. It has where some observation and action met twice led to different (next
    observation, reward, termination), or where, in the first ``COPY_TRIALS`` steps, a copy of the environment
    with its random generator reseeded, given the same action, reached a different outcome from the real step
    (which a copy left as it is must reproduce, else copies are not trusted) (environments that
    draw their chance from Gymnasium's ``np_random`` and can be copied: 2048's tiles, where whole boards
    rarely repeat). Continuous environments that cannot be copied show no chance."""
    rng = np.random.default_rng(seed)
    twin_rng = np.random.default_rng([seed, 1])  # its own stream: the actions are those of the reward probe
    env = source.make()
    outcomes: dict[tuple[int, int], int] = {}
    largest, chance, repeats, copies = 0.0, False, 0, COPY_TRIALS
    labelled, top = True, -1
    try:
        observation, info = env.reset(seed=seed)
        for _ in range(steps):
            mask = info.get("action_mask")
            legal = np.flatnonzero(mask) if mask is not None and np.any(mask) else np.arange(env.action_space.n)
            action = int(rng.choice(legal))
            key = (_fingerprint(observation), action)
            twins = _twin_outcomes(env, action, twin_rng) if copies > 0 and not chance else None
            copies = copies - 1 if twins is not None else 0  # one environment that does not copy: stop trying
            observation, reward, terminated, truncated, info = env.step(action)
            largest = max(largest, abs(float(reward)))
            labelled = labelled and "chance" in info
            if labelled:
                top = max(top, int(info["chance"]))
            outcome = hash((_fingerprint(observation), float(reward), bool(terminated)))
            if twins is not None and twins[0] != outcome:  # the copy was not faithful: stop trying
                copies = 0
            elif twins is not None:
                repeats += 1
                chance = chance or twins[1] != outcome
            if key in outcomes:
                repeats += 1
                chance = chance or outcomes[key] != outcome
            else:
                outcomes[key] = outcome
            if terminated or truncated:
                observation, info = env.reset()
        labelled = labelled and steps > 0
        return Probe(largest, chance, repeats, labelled, top if labelled else -1)
    finally:
        env.close()
