"""Evaluation: whole episodes with no root noise, taking the most-visited action.

All episodes run side by side, one batched search per step over those still running. A two-player
game is evaluated by playing an opponent (``muzero.envs.games.opponents``), the agent taking the
first move in half the games: each game scores 1 for a win, 0.5 for a draw and 0 for a loss, and
the result counts wins, draws and losses per colour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from muzero.config import SearchConfig
from muzero.envs.games.opponents import make_opponent, opponents_for
from muzero.envs.make import EnvSource, legal_mask
from muzero.envs.spaces import ObservationEncoder
from muzero.search.mcts import greedy_actions
from muzero.search.protocol import Model


class EvalResult(NamedTuple):
    returns: np.ndarray  # (episodes,) undiscounted returns; for games the agent's score per game
    lengths: np.ndarray  # (episodes,) steps
    games: dict | None = None  # games only: {opponent: {"first"|"second": {"wins", "draws", "losses"}, "score"}}
    # Stopped before every episode ended because the mean could no longer reach the threshold it was asked
    # about (``StopBelow``); returns and lengths then hold the finished episodes only.
    stopped_early: bool = False

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
        """Wins, draws and losses over both colours against the (first) opponent; {} for single-player."""
        if not self.games:
            return {}
        first = next(iter(self.games.values()))
        return {k: first["first"][k] + first["second"][k] for k in ("wins", "draws", "losses")}


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
) -> EvalResult:
    """Mean of ``episodes`` greedy episodes, seeded seed, seed+1, ...; ``on_step(done, total)`` reports progress.

    Where the environment publishes ``info["action_mask"]``, the search's root (and so the action
    taken) is restricted to the legal actions. A game plays ``episodes`` games against ``opponent``
    (default: the first of the game's opponents, e.g. the perfect player for tic-tac-toe). With
    ``stop_below`` the evaluation ends as soon as its mean is known to fall below that threshold.
    """
    if isinstance(source, str):
        source = EnvSource(source)
    if source.game is not None:
        name = opponent or opponents_for(source.game)[0]
        return play_games(model, source, name, episodes, seed, search, on_step, stop_below)
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


def play_games(
    model: Model,
    source: EnvSource,
    opponent_name: str,
    games: int,
    seed: int,
    search: SearchConfig,
    on_step: Callable[[int, int], None] | None = None,
    stop_below: StopBelow | None = None,
) -> EvalResult:
    """``games`` games of the agent (greedy search) against an opponent, side by side; even games the agent
    moves first. Game i is seeded ``seed + i`` (the environment and the opponent's choice among equal moves).

    With ``stop_below`` (its bound 1: a game scores at most 1), play ends once the mean score cannot reach its
    threshold.
    """
    opponent = make_opponent(opponent_name, source.game)
    envs = [source.make_raw() for _ in range(games)]
    encoder = ObservationEncoder(envs[0].observation_space)
    rngs = [np.random.default_rng(seed + i) for i in range(games)]
    colour = np.arange(games) % 2  # the agent's player index in each game
    observations, masks = [], []
    for i, env in enumerate(envs):
        obs, info = env.reset(seed=seed + i)
        observations.append(obs)
        masks.append(np.asarray(info["action_mask"], bool))
    scores = np.zeros(games)
    lengths = np.zeros(games, np.int64)
    running = np.ones(games, bool)
    while running.any():
        active = np.flatnonzero(running)
        to_play = np.array([observations[i]["to_play"] for i in active])
        agent = active[to_play == colour[active]]
        moves = {}
        if len(agent):
            batch = np.stack([encoder.encode(observations[i]) for i in agent])
            legal = np.stack([masks[i] for i in agent])
            moves.update(zip(agent.tolist(), greedy_actions(model, batch, search, legal).tolist(), strict=True))
        for i in active[to_play != colour[active]]:
            moves[int(i)] = opponent.act(observations[i]["observation"], masks[i], rngs[i])
        for i, move in moves.items():
            obs, _, terminated, truncated, info = envs[i].step(move)
            lengths[i] += 1
            observations[i], masks[i] = obs, np.asarray(info["action_mask"], bool)
            if terminated or truncated:
                running[i] = False
                winner = info.get("winner", -1)
                scores[i] = 0.5 if winner < 0 else float(winner == colour[i])
        if on_step is not None:
            on_step(int((~running).sum()), games)
        if stop_below is not None and running.any() and stop_below.decided(scores, ~running):
            for env in envs:
                env.close()
            done = ~running
            record = {opponent_name: game_record(scores[done], colour[done])}
            return EvalResult(scores[done], lengths[done], record, stopped_early=True)
    for env in envs:
        env.close()
    return EvalResult(scores, lengths, {opponent_name: game_record(scores, colour)})


def game_record(scores: np.ndarray, colour: np.ndarray) -> dict:
    """Wins, draws and losses per colour ("first": the agent moved first) and the mean score."""
    record: dict = {}
    for name, c in (("first", 0), ("second", 1)):
        s = scores[colour == c]
        record[name] = {"wins": int((s == 1).sum()), "draws": int((s == 0.5).sum()), "losses": int((s == 0).sum())}
    record["score"] = float(scores.mean())
    return record
