"""Evaluations that stop once their outcome is decided, without changing what they decide."""

from __future__ import annotations

import numpy as np
import pytest

from muzero.config import Config, SearchConfig
from muzero.envs.make import EnvSource
from muzero.training.evaluation import StopBelow, evaluate
from tests.models import RandomModel

SEARCH = SearchConfig(num_simulations=4)


def test_stop_below_decides_only_when_no_outcome_of_the_rest_can_reach_the_threshold():
    stop = StopBelow(threshold=475.0, bound=500.0)
    returns = np.zeros(100)
    finished = np.zeros(100, bool)
    assert not stop.decided(returns, finished)  # nothing played: anything is possible
    finished[:5] = True
    returns[:5] = 0.0  # 5 empty episodes: 95 * 500 = 47,500 = 100 * 475, still reachable
    assert not stop.decided(returns, finished)
    returns[4] = -0.5  # now 47,499.5 at best
    assert stop.decided(returns, finished)
    returns[:] = 500.0
    finished[:] = True
    assert not stop.decided(returns, finished)  # a reached threshold is never "decided below"


def test_a_hopeless_evaluation_stops_early_and_agrees_with_the_full_one():
    model, source = RandomModel(2, seed=3), EnvSource("CartPole-v1")
    full = evaluate(model, source, 40, 7, SEARCH)
    early = evaluate(model, source, 40, 7, SEARCH, stop_below=StopBelow(475.0, 500.0))
    assert full.mean < 475.0 and not full.stopped_early and len(full.returns) == 40
    assert early.stopped_early and 0 < len(early.returns) < 40
    assert early.lengths.sum() < full.lengths.sum()
    # The episodes it finished are the full evaluation's episodes, played identically.
    assert set(early.returns.tolist()) <= set(full.returns.tolist())
    assert early.returns.sum() + (40 - len(early.returns)) * 500.0 < 40 * 475.0


def test_an_evaluation_that_reaches_its_threshold_plays_every_episode():
    model, source = RandomModel(2, seed=3), EnvSource("CartPole-v1")
    full = evaluate(model, source, 30, 7, SEARCH)
    threshold = float(full.returns.min())  # every episode reaches it
    result = evaluate(model, source, 30, 7, SEARCH, stop_below=StopBelow(threshold, 500.0))
    assert not result.stopped_early
    np.testing.assert_array_equal(result.returns, full.returns)


def test_games_stop_early_against_the_perfect_player():
    pytest.importorskip("pettingzoo")
    source = EnvSource("tictactoe_v3")
    # A random network that loses every game: the outcome is decided once 21 of the 40 are lost. (With
    # draws the decision can come only when the draws end, together, at the last move: nothing to stop.)
    model = RandomModel(9, embedding_size=source.spec().observation_size, seed=3, two_player=True)
    full = evaluate(model, source, 40, 0, SEARCH, opponent="perfect")
    early = evaluate(model, source, 40, 0, SEARCH, opponent="perfect", stop_below=StopBelow(0.5, 1.0))
    assert full.mean == 0.0
    assert early.stopped_early and len(early.returns) < 40
    record = early.games["perfect"]
    played = sum(record[c][k] for c in ("first", "second") for k in ("wins", "draws", "losses"))
    assert played == len(early.returns)


@pytest.mark.parametrize("bound", [None, 4.0])
def test_a_confirmation_stopped_early_never_counts_as_a_solve(bound):
    """Every CartPole episode lasts at least 8 steps, so a threshold of 5 is always reached; a (wrong) bound of
    4 per episode makes the confirmation "decided below" after its first episode, and the run stays unsolved
    although the episodes it did finish averaged above the threshold."""
    from muzero.training.trainer import Trainer

    sets = [
        "env.num_envs=2",
        "search.num_simulations=4",
        "acting.min_replay_size=100000",
        "eval.interval=8",
        "eval.episodes=2",
        "eval.solve_threshold=5",
        "eval.confirm_episodes=20",
    ]
    if bound is not None:
        sets.append(f"eval.max_episode_return={bound}")
    seen = []

    class Observer:
        def on_eval(self, trainer, result, kind):
            seen.append((kind, result))

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    trainer = Trainer(Config().with_sets(sets), observers=[Observer()])
    trainer.run(8)
    (confirm,) = [result for kind, result in seen if kind == "confirm"]
    assert confirm.mean >= 5.0
    if bound is None:
        assert not confirm.stopped_early and len(confirm.returns) == 20 and trainer.counters.solved
    else:
        assert confirm.stopped_early and len(confirm.returns) < 20 and not trainer.counters.solved


# ---------------------------------------------------------------------------------------------------------------
# Games: random openings, and how many distinct games an evaluation measured.


def game_model(game: str) -> tuple[RandomModel, EnvSource]:
    """A fixed deterministic agent for ``game``: a pseudo-random model searched greedily."""
    pytest.importorskip("pettingzoo")
    source = EnvSource(game)
    spec = source.spec()
    return RandomModel(spec.num_actions, embedding_size=spec.observation_size, seed=3, two_player=True), source


class LowestLegalMove:
    """A deterministic opponent: always the lowest-numbered legal move."""

    name = "lowest"

    def act(self, planes: np.ndarray, legal: np.ndarray, rng: np.random.Generator) -> int:
        return int(np.flatnonzero(legal)[0])


def test_random_openings_make_a_deterministic_agent_play_many_games_against_alpha_beta():
    model, source = game_model("connect_four_v3")
    result = evaluate(model, source, 20, 0, SEARCH, opponent="alphabeta2", opening_plies=2)
    record = result.games["alphabeta2"]
    assert sum(record["first"].values()) == sum(record["second"].values()) == 10
    assert len(result.moves) == 20 and (result.lengths == [len(game) for game in result.moves]).all()
    assert len({game[:2] for game in result.moves}) > 1  # the openings differ
    assert record["distinct_games"] == len(set(result.moves)) > 1
    assert result.summary()["distinct_games"] == record["distinct_games"]
    # Reproducible: the openings come from the games' seeds; and Connect Four opens with 2 plies by default.
    again = evaluate(model, source, 20, 0, SEARCH, opponent="alphabeta2")
    assert again.moves == result.moves


def test_without_openings_a_deterministic_agent_and_opponent_play_one_game_per_colour(monkeypatch):
    model, source = game_model("connect_four_v3")
    monkeypatch.setattr("muzero.training.evaluation.make_opponent", lambda name, game: LowestLegalMove())
    result = evaluate(model, source, 20, 0, SEARCH, opponent="lowest", opening_plies=0)
    assert {result.moves[i] for i in range(0, 20, 2)} == {result.moves[0]}  # the agent first: one game
    assert {result.moves[i] for i in range(1, 20, 2)} == {result.moves[1]}  # and one as the second player
    assert result.games["lowest"]["distinct_games"] == len(set(result.moves)) <= 2
    opened = evaluate(model, source, 20, 0, SEARCH, opponent="lowest", opening_plies=2)
    assert opened.games["lowest"]["distinct_games"] == len(set(opened.moves)) > 2


def test_tic_tac_toe_opens_without_random_plies_by_default():
    model, source = game_model("tictactoe_v3")
    default = evaluate(model, source, 6, 0, SEARCH, opponent="random")
    assert default.moves == evaluate(model, source, 6, 0, SEARCH, opponent="random", opening_plies=0).moves


def test_an_opening_that_ends_the_game_is_redrawn_and_one_that_always_does_is_refused():
    from muzero.envs.games.opponents import ttt_has_line
    from muzero.errors import ConfigError

    model, source = game_model("tictactoe_v3")
    result = evaluate(model, source, 30, 0, SEARCH, opponent="random", opening_plies=7)
    for game in result.moves:
        assert len(game) > 7  # every game counted went on past its opening
        for player in (0, 1):  # and nobody had a line within it
            assert not ttt_has_line(sum(1 << cell for cell in game[player:7:2]))
    with pytest.raises(ConfigError, match="opening_plies = 9: that many random plies ended"):
        evaluate(model, source, 2, 0, SEARCH, opponent="random", opening_plies=9)


def test_opening_plies_must_not_be_negative():
    from muzero.errors import ConfigError

    assert Config().eval.opening_plies is None
    with pytest.raises(ConfigError, match="eval.opening_plies"):
        Config().with_sets(["eval.opening_plies=-1"])
