"""What a run says about itself: one definition of solved, and figures printed at their own scale."""

from __future__ import annotations

import json

import numpy as np
import pytest

from muzero.app.callbacks import StopTrainingOnRewardThreshold
from muzero.app.cli import report
from muzero.app.formatting import describe_returns, format_return
from muzero.app.runner import start_run, train
from muzero.training.evaluation import EvalResult


def test_small_returns_print_at_their_own_scale():
    # Returns between 0.86 and 0.92 once printed as "mean 0.9 (min 1, max 1)".
    summary = EvalResult(np.array([0.86, 0.89, 0.92]), np.ones(3)).summary()
    assert describe_returns(summary) == "mean 0.890 +- 0.024 (min 0.860, max 0.920) over 3 episodes"
    assert describe_returns(EvalResult(np.array([177.0, 500.0]), np.ones(2)).summary()).startswith(
        "mean 338.5 +- 161.5 (min 177.0, max 500.0)"
    )
    assert format_return(-0.0123) == "-0.0123"
    assert format_return(-114.25) == "-114.2"


@pytest.mark.parametrize("final_holds", [True, False])
def test_solved_means_confirmed_and_held_by_the_final_evaluation(tiny_config, tmp_path, monkeypatch, final_holds):
    # A threshold a random CartPole policy reaches: the first periodic evaluation and its confirmation pass.
    run_dir = tmp_path / "run"
    trainer = start_run(tiny_config(96, "eval.solve_threshold=5"), run_dir, "custom")
    if not final_holds:
        below = EvalResult(np.array([1.0, 2.0]), np.array([1, 2]))
        monkeypatch.setattr(trainer, "final_evaluation", lambda: below)
    outcome = train(trainer, run_dir, progress=False, artifacts=False, callback=StopTrainingOnRewardThreshold())
    assert trainer.counters.solved  # the confirmation held either way
    written = json.loads((run_dir / "summary.json").read_text())
    assert written == outcome.summary
    assert written["confirmed"] is True
    assert written["solved"] is final_holds
    assert outcome.status == ("solved" if final_holds else "final_below_threshold")
    lines = report(written, run_dir).splitlines()
    assert lines[1] == f"status: {outcome.status}"
    assert lines[2].startswith("solved: a confirmed" if final_holds else "solved: no: a confirmed")


def test_game_evaluations_print_how_many_distinct_games_they_played():
    import io
    from types import SimpleNamespace

    from muzero.app.formatting import format_games
    from muzero.app.progress import ProgressPrinter
    from muzero.training.evaluation import game_record

    moves = ((3, 3, 4), (3, 3, 4), (2, 3, 4), (3, 3, 4))  # four games, two of them different
    record = game_record(np.array([1.0, 0.5, 0.0, 1.0]), np.arange(4) % 2, moves)
    assert record["distinct_games"] == 2
    result = EvalResult(np.array([1.0, 0.5, 0.0, 1.0]), np.full(4, 3), {"winblock": record}, moves=moves)
    assert result.summary()["distinct_games"] == 2
    stream = io.StringIO()
    trainer = SimpleNamespace(counters=SimpleNamespace(env_steps=1_000))
    ProgressPrinter(10_000, stream, live=False).on_eval(trainer, result, "periodic")
    assert "(W/D/L 2/1/1) over 4 games, 2 distinct" in stream.getvalue()
    assert format_games(result.games).endswith("second 1/1/0, 2 distinct games")
