"""PettingZoo AEC games as one self-play Gymnasium environment.

A two-player, turn-based, zero-sum game with an ``action_mask`` (PettingZoo's classic games:
``tictactoe_v3``, ``connect_four_v3``, or any by its module path) becomes a ``gymnasium.Env``
whose every step is a move of the player to move, so the rest of muzero (vector environments,
acting, replay) is the single-player machinery unchanged:

- observation: ``{"observation": the game's planes from the mover's perspective, "to_play": 0 or 1}``,
  so the player to move is part of what the networks see;
- reward: what the move earned the player who made it (+1 for a winning move; 0 otherwise);
- terminated: the game is over; ``info["action_mask"]`` the next mover's legal moves and
  ``info["to_play"]`` who that is.

Everything else that makes it a two-player search and two-player targets is the sign of the
discount: the search and the n-step targets use -gamma per move (see ``signed_discount``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec as GymEnvSpec

from muzero.errors import EnvironmentNotSupported

# Short ids of the games muzero knows by name, their module paths and their longest possible game.
GAMES = {"tictactoe_v3": "pettingzoo.classic.tictactoe_v3", "connect_four_v3": "pettingzoo.classic.connect_four_v3"}
MAX_MOVES = {"tictactoe_v3": 9, "connect_four_v3": 42}
INSTALL = 'pip install "muzero[games]"'


def game_module(env_id: str | None) -> str | None:
    """The PettingZoo module of a game id (a short id or a module path ``pettingzoo.<family>.<game>``), else None."""
    if env_id is None:
        return None
    if env_id in GAMES:
        return GAMES[env_id]
    if env_id.startswith("pettingzoo."):
        return env_id
    return None


def is_game(env_id: str | None) -> bool:
    return game_module(env_id) is not None


def short_name(env_id: str) -> str:
    """``pettingzoo.classic.tictactoe_v3`` -> ``tictactoe_v3`` (the name presets and opponents use)."""
    return env_id.rsplit(".", 1)[-1]


def signed_discount(discount: float, two_player: bool) -> float:
    """The per-move discount of search and targets: -gamma between alternating players (mctx's convention).

    Values and rewards are from the point of view of the player who moves, so one move later the
    same number means the opposite to the player before: G = r + (-gamma) * G'.
    """
    return -discount if two_player else discount


def _registry_id(module_name: str) -> str:
    """``pettingzoo.classic.tictactoe_v3`` -> ``classic/tictactoe-v3`` (PettingZoo's registry id)."""
    family, _, name = module_name.removeprefix("pettingzoo.").rpartition(".")
    base, _, version = name.rpartition("_v")
    return f"{family.replace('.', '/')}/{base}-v{version}"


def load_game(env_id: str, kwargs: dict[str, Any] | None = None, render_mode: str | None = None) -> Any:
    """The PettingZoo AEC environment for ``env_id``, or a one-line ``EnvironmentNotSupported``."""
    module_name = game_module(env_id)
    if module_name is None:
        raise EnvironmentNotSupported(f"{env_id!r} is not a PettingZoo game id")
    if importlib.util.find_spec("pettingzoo") is None:
        raise EnvironmentNotSupported(f"{env_id} needs PettingZoo; install it with: {INSTALL}")
    import pettingzoo

    registry_id = _registry_id(module_name)
    if registry_id in getattr(pettingzoo, "aec_registry", {}):  # PettingZoo >= 1.27: its registry
        creator = functools.partial(pettingzoo.make, "aec", registry_id)
    else:  # earlier releases: the environment's module
        try:
            creator = importlib.import_module(module_name).env
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                raise EnvironmentNotSupported(f"there is no PettingZoo game {module_name!r}") from None
            hint = INSTALL if error.name == "pygame" else f"pip install {error.name}"
            raise EnvironmentNotSupported(f"{env_id} needs the package {error.name}; install it with: {hint}") from None
        except AttributeError:
            raise EnvironmentNotSupported(f"{module_name} is not a PettingZoo environment module") from None
    options = dict(kwargs or {})
    if render_mode is not None and render_mode != "ansi":
        options["render_mode"] = render_mode
    try:
        return creator(**options)
    except ImportError as error:
        raise EnvironmentNotSupported(f"{env_id} needs a package that is not installed ({error})") from None
    except TypeError as error:
        given = ", ".join(f"{k}={v!r}" for k, v in (kwargs or {}).items()) or "none"
        raise EnvironmentNotSupported(f"{env_id} rejected its keyword arguments ({given}): {error}") from None


class SelfPlayEnv(gym.Env):
    """One PettingZoo two-player game, every move played through ``step`` (see the module's doc)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(self, env_id: str, kwargs: dict[str, Any] | None = None, render_mode: str | None = None) -> None:
        self.game_id = env_id
        self.render_mode = render_mode
        self.game = load_game(env_id, kwargs)
        self.game.reset()
        agents = list(self.game.possible_agents)
        if len(agents) != 2:
            raise EnvironmentNotSupported(
                f"{env_id} has {len(agents)} agents; muzero plays two-player, turn-based, zero-sum games"
            )
        self.agents = agents
        space = self.game.observation_space(agents[0])
        if not isinstance(space, gym.spaces.Dict) or not {"observation", "action_mask"} <= set(space.spaces):
            raise EnvironmentNotSupported(
                f"{env_id}'s observations are {space}; muzero needs PettingZoo's dict of observation and action_mask"
            )
        action_space = self.game.action_space(agents[0])
        if not isinstance(action_space, gym.spaces.Discrete):
            raise EnvironmentNotSupported(f"{env_id} has action space {action_space}; muzero needs Discrete moves")
        self.board_space = space["observation"]
        self.observation_space = gym.spaces.Dict({"observation": self.board_space, "to_play": gym.spaces.Discrete(2)})
        self.action_space = gym.spaces.Discrete(int(action_space.n))
        self.spec = GymEnvSpec(
            id=short_name(env_id), entry_point=f"{__name__}:SelfPlayEnv", max_episode_steps=MAX_MOVES.get(env_id)
        )
        self.mask = np.ones(self.action_space.n, bool)
        self.to_play = 0

    def _observe(self) -> tuple[dict[str, Any], dict[str, Any]]:
        agent = self.game.agent_selection
        seen = self.game.observe(agent)
        self.to_play = self.agents.index(agent)
        self.mask = np.asarray(seen["action_mask"]).astype(bool)
        observation = {"observation": np.asarray(seen["observation"]), "to_play": self.to_play}
        return observation, {"action_mask": self.mask.copy(), "to_play": self.to_play}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.game.reset(seed=seed)
        return self._observe()

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        action = int(action)
        if not (0 <= action < self.action_space.n) or not self.mask[action]:
            legal = np.flatnonzero(self.mask).tolist()
            raise ValueError(f"illegal move {action} in {self.game_id}; legal moves: {legal}")
        mover = self.game.agent_selection
        self.game.step(action)
        reward = float(self.game.rewards[mover])
        terminated = any(self.game.terminations.values())
        truncated = any(self.game.truncations.values()) and not terminated
        observation, info = self._observe()
        if terminated or truncated:
            info["winner"] = (
                -1 if reward == 0 else (self.agents.index(mover) if reward > 0 else 1 - self.agents.index(mover))
            )
        return observation, reward, terminated, truncated, info

    def board(self) -> np.ndarray:
        """The board as absolute planes: [..., 0] the first player's pieces, [..., 1] the second's."""
        planes = np.asarray(self.game.observe(self.game.agent_selection)["observation"])
        return planes if self.to_play == 0 else planes[..., ::-1]

    def render(self) -> str | np.ndarray | None:
        from muzero.envs.games.display import board_image, board_text

        if self.render_mode == "ansi":
            return board_text(self.board())
        if self.render_mode == "rgb_array":
            return board_image(self.board())
        return None

    def close(self) -> None:
        self.game.close()


def infer_to_play(planes: np.ndarray) -> int:
    """The player to move from a placement game's planes (own pieces, opponent's): 0 when the counts are equal.

    Holds for games where each move adds one piece and none are removed (tic-tac-toe, Connect Four).
    """
    planes = np.asarray(planes)
    if planes.ndim < 1 or planes.shape[-1] != 2:
        raise ValueError(
            "cannot tell the player to move from this observation; pass {'observation': ..., 'to_play': 0 or 1}"
        )
    own, other = int(planes[..., 0].sum()), int(planes[..., 1].sum())
    return 0 if own == other else 1


def from_pettingzoo(observation: Any) -> tuple[dict[str, Any], np.ndarray | None]:
    """A PettingZoo observation of the player to move (dict with 'observation', 'action_mask', optionally
    'to_play') -> (what the networks read, the legal moves or None)."""
    planes = np.asarray(observation["observation"])
    to_play = observation.get("to_play")
    to_play = infer_to_play(planes) if to_play is None else int(to_play)
    mask = observation.get("action_mask")
    return {"observation": planes, "to_play": to_play}, None if mask is None else np.asarray(mask).astype(bool)
