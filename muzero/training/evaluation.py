"""Evaluation: whole episodes with no root noise, taking the most-visited action.

All episodes run side by side, one batched search per step over those still running. A two-player
game is evaluated by playing an opponent (``muzero.envs.games.opponents``), the agent playing the
first player's side in half the games: each game scores 1 for a win, 0.5 for a draw and 0 for a loss,
and the result counts wins, draws and losses per colour.

A greedy agent against an opponent that always answers alike plays one game per colour however many
are asked for, so each game can open with a few uniformly random plies for both sides (``opening_plies``,
by default the game's: 2 for Connect Four), drawn from the game's own generator and so reproducible; the
record counts the distinct move sequences played (``distinct_games``), to say how many games it measured.
An opening that ends the game is thrown away and another drawn, so every game counted is one the agent
and the opponent played.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from muzero.config import SearchConfig
from muzero.envs.games.opponents import make_opponent, opening_plies_for, opponents_for
from muzero.envs.make import EnvSource, legal_mask
from muzero.envs.spaces import ObservationEncoder
from muzero.errors import ConfigError
from muzero.search.mcts import greedy_actions
from muzero.search.protocol import Model


class EvalResult(NamedTuple):
    returns: np.ndarray  # (episodes,) undiscounted returns; for games the agent's score per game
    lengths: np.ndarray  # (episodes,) steps
    games: dict | None = None  # games only: {opponent: {"first"|"second": {"wins", "draws", "losses"}, "score"}}
    # Stopped before every episode ended because the mean could no longer reach the threshold it was asked
    # about (``StopBelow``); returns and lengths then hold the finished episodes only.
    stopped_early: bool = False
    moves: tuple[tuple[int, ...], ...] | None = None  # games only: (episodes,) each game's moves, opening included

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    def summary(self) -> dict[str, float | int]:
        r = self.returns
        return {
            "episodes": len(r),
            "mean": float(r.mean()),
            "std": float(r.std()),
            "min": float(r.min()),
            "max": float(r.max()),
        } | self.game_counts()

    def game_counts(self) -> dict[str, int]:
        """Wins, draws and losses over both colours and distinct games against the (first) opponent; {} for
        single-player."""
        if not self.games:
            return {}
        first = next(iter(self.games.values()))
        counts = {k: first["first"][k] + first["second"][k] for k in ("wins", "draws", "losses")}
        return counts | {"distinct_games": first["distinct_games"]}


class StopBelow(NamedTuple):
    """Stop an evaluation once its mean cannot reach ``threshold``, every episode returning at most ``bound``.

    After the finished episodes returned S in total, the N - n unfinished ones can add at most
    (N - n) * bound: once S + (N - n) * bound < N * threshold, the outcome "below the threshold" is decided
    and playing on cannot change it. Nothing is decided early for an evaluation that reaches the threshold.
    """

    threshold: float
    bound: float

    def decided(self, returns: np.ndarray, finished: np.ndarray) -> bool:
        unfinished = len(returns) - int(finished.sum())
        total = float(returns[finished].sum()) + unfinished * self.bound
        return bool(finished.any()) and total < len(returns) * self.threshold


def evaluate(
    model: Model,
    source: EnvSource | str,
    episodes: int,
    seed: int,
    search: SearchConfig,
    max_parallel: int = 100,
    on_step: Callable[[int, int], None] | None = None,
    opponent: str | None = None,
    stop_below: StopBelow | None = None,
    opening_plies: int | None = None,
) -> EvalResult:
    """Mean of ``episodes`` greedy episodes, seeded seed, seed+1, ...; ``on_step(done, total)`` reports progress.

    Where the environment publishes ``info["action_mask"]``, the search's root (and so the action
    taken) is restricted to the legal actions. A game plays ``episodes`` games against ``opponent``
    (default: the first of the game's opponents, e.g. the perfect player for tic-tac-toe), each opened
    by ``opening_plies`` random plies (default: the game's). With ``stop_below`` the evaluation ends as
    soon as its mean is known to fall below that threshold.
    """
    if isinstance(source, str):
        source = EnvSource(source)
    if source.game is not None:
        name = opponent or opponents_for(source.game)[0]
        return play_games(model, source, name, episodes, seed, search, on_step, stop_below, opening_plies)
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, np.int64)
    finished = np.zeros(episodes, bool)
    stopped = False
    for first in range(0, episodes, max_parallel):
        ids = np.arange(first, min(first + max_parallel, episodes))
        stop = _run_episodes(model, source, ids, seed, search, returns, lengths, finished, on_step, stop_below)
        if stop:
            stopped = not finished.all()
            break
    if stopped:
        return EvalResult(returns[finished], lengths[finished], stopped_early=True)
    return EvalResult(returns, lengths)


def _run_episodes(
    model: Model,
    source: EnvSource,
    ids: np.ndarray,
    seed: int,
    search: SearchConfig,
    returns: np.ndarray,
    lengths: np.ndarray,
    finished: np.ndarray,
    on_step: Callable[[int, int], None] | None,
    stop_below: StopBelow | None,
) -> bool:
    """Play episodes ``ids`` to their ends (filling returns, lengths, finished); True if ``stop_below`` decided."""
    envs = [source.make() for _ in ids]
    num_actions = int(envs[0].action_space.n)
    observation = np.zeros((len(ids), envs[0].observation_space.shape[0]), np.float32)
    legal = np.ones((len(ids), num_actions), bool)
    for i, env in enumerate(envs):
        obs, info = env.reset(seed=seed + int(ids[i]))
        observation[i] = obs
        legal[i] = legal_mask(info.get("action_mask"), num_actions)
    running = np.ones(len(ids), bool)
    decided = False
    while running.any() and not decided:
        active = np.flatnonzero(running)
        actions = greedy_actions(model, observation[active], search, legal[active])
        for i, action in zip(active, actions, strict=True):
            obs, reward, terminated, truncated, info = envs[i].step(int(action))
            returns[ids[i]] += reward
            lengths[ids[i]] += 1
            observation[i] = obs
            legal[i] = legal_mask(info.get("action_mask"), num_actions)
            if terminated or truncated:
                running[i] = False
                finished[ids[i]] = True
        if on_step is not None:
            on_step(int(finished.sum()), len(finished))
        decided = stop_below is not None and stop_below.decided(returns, finished)
    for env in envs:
        env.close()
    return decided


class Opening(NamedTuple):
    """A game after its random opening: what the next mover sees, and the moves that led there."""

    observation: dict  # the environment's observation of the player to move
    legal: np.ndarray  # (A,) bool, that player's legal moves
    moves: list[int]  # the opening's moves, in order


MAX_OPENING_DRAWS = 100  # openings drawn for one game before its plies are judged to end every game


def play_opening(env: gym.Env, seed: int, plies: int, rng: np.random.Generator) -> Opening:
    """Reset ``env`` and play ``plies`` uniformly random legal moves for both sides, drawn from ``rng``.

    An opening that ends the game is thrown away and another drawn (the game restarted), so that the agent
    and the opponent play every game that is counted; a ``ConfigError`` if ``MAX_OPENING_DRAWS`` in a row end.
    """
    for _ in range(MAX_OPENING_DRAWS):
        observation, info = env.reset(seed=seed)
        legal, moves, ended = np.asarray(info["action_mask"], bool), [], False
        while len(moves) < plies and not ended:
            moves.append(int(rng.choice(np.flatnonzero(legal))))
            observation, _, terminated, truncated, info = env.step(moves[-1])
            legal, ended = np.asarray(info["action_mask"], bool), terminated or truncated
        if not ended:
            return Opening(observation, legal, moves)
    raise ConfigError(
        f"eval.opening_plies = {plies}: that many random plies ended {MAX_OPENING_DRAWS} games in a row; ask for fewer"
    )


def play_games(
    model: Model,
    source: EnvSource,
    opponent_name: str,
    games: int,
    seed: int,
    search: SearchConfig,
    on_step: Callable[[int, int], None] | None = None,
    stop_below: StopBelow | None = None,
    opening_plies: int | None = None,
) -> EvalResult:
    """``games`` games of the agent (greedy search) against an opponent, side by side; in even games the agent
    is the first player. Game i is seeded ``seed + i`` (the environment, its random opening of ``opening_plies``
    plies, default the game's, and the opponent's choice among equal moves).

    With ``stop_below`` (its bound 1: a game scores at most 1), play ends once the mean score cannot reach its
    threshold. The lengths count every move of a game, its opening's too.
    """
    opponent = make_opponent(opponent_name, source.game)
    plies = opening_plies_for(source.game) if opening_plies is None else opening_plies
    envs = [source.make_raw() for _ in range(games)]
    encoder = ObservationEncoder(envs[0].observation_space)
    rngs = [np.random.default_rng(seed + i) for i in range(games)]
    colour = np.arange(games) % 2  # the agent's player index in each game
    openings = [play_opening(env, seed + i, plies, rngs[i]) for i, env in enumerate(envs)]
    observations = [opening.observation for opening in openings]
    masks = [opening.legal for opening in openings]
    moves = [opening.moves for opening in openings]
    scores = np.zeros(games)
    running = np.ones(games, bool)
    stopped = False
    while running.any() and not stopped:
        active = np.flatnonzero(running)
        to_play = np.array([observations[i]["to_play"] for i in active])
        agent = active[to_play == colour[active]]
        chosen = {}
        if len(agent):
            batch = np.stack([encoder.encode(observations[i]) for i in agent])
            legal = np.stack([masks[i] for i in agent])
            chosen.update(zip(agent.tolist(), greedy_actions(model, batch, search, legal).tolist(), strict=True))
        for i in active[to_play != colour[active]]:
            chosen[int(i)] = opponent.act(observations[i]["observation"], masks[i], rngs[i])
        for i, move in chosen.items():
            obs, _, terminated, truncated, info = envs[i].step(move)
            moves[i].append(move)
            observations[i], masks[i] = obs, np.asarray(info["action_mask"], bool)
            if terminated or truncated:
                running[i] = False
                winner = info.get("winner", -1)
                scores[i] = 0.5 if winner < 0 else float(winner == colour[i])
        if on_step is not None:
            on_step(int((~running).sum()), games)
        stopped = stop_below is not None and running.any() and stop_below.decided(scores, ~running)
    for env in envs:
        env.close()
    done = np.flatnonzero(~running)
    played = tuple(tuple(moves[i]) for i in done)
    record = {opponent_name: game_record(scores[done], colour[done], played)}
    lengths = np.array([len(game) for game in played], np.int64)
    return EvalResult(scores[done], lengths, record, stopped_early=stopped, moves=played)


def game_record(scores: np.ndarray, colour: np.ndarray, moves: Sequence[tuple[int, ...]]) -> dict:
    """Wins, draws and losses per colour ("first": the agent played the first player's side), the mean score,
    and ``distinct_games``: how many different move sequences (openings included) the games were."""
    record: dict = {}
    for name, c in (("first", 0), ("second", 1)):
        s = scores[colour == c]
        record[name] = {"wins": int((s == 1).sum()), "draws": int((s == 0.5).sum()), "losses": int((s == 0).sum())}
    record["score"] = float(scores.mean())
    record["distinct_games"] = len(set(moves))
    return record
