"""Learning-curve figures from metrics.csv."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from muzero.app.plotting import (
    _run_info,
    _solved,
    learning_curve,
    moving_average,
    on_common_grid,
    plot_runs,
    read_metrics,
)
from muzero.errors import UserError


def write_metrics(run_dir, evals, episodes=20):
    run_dir.mkdir(parents=True)
    rows = ["tag,value,env_steps,train_steps,wall_seconds"]
    for i in range(episodes):
        rows.append(f"charts/episodic_return,{10 + i},{50 * i},{40 * i},{0.5 * i}")
        rows.append(f"losses/value,{1.0 / (i + 1)},{50 * i},{40 * i},{0.5 * i}")
    for step, mean in evals:
        for tag, value in (("eval/mean", mean), ("eval/min", mean - 5), ("eval/max", mean + 5)):
            rows.append(f"{tag},{value},{step},{step},{step / 100}")
    (run_dir / "metrics.csv").write_text("\n".join(rows) + "\n")
    return run_dir


def test_read_metrics_returns_each_tag(tmp_path):
    run = write_metrics(tmp_path / "run", [(500, 20.0), (1000, 80.0)])
    metrics = read_metrics(run)
    np.testing.assert_array_equal(metrics["eval/mean"].value, [20.0, 80.0])
    np.testing.assert_array_equal(metrics["eval/mean"].env_steps, [500, 1000])
    np.testing.assert_array_equal(metrics["eval/mean"].seconds, [5.0, 10.0])
    assert len(metrics["charts/episodic_return"].value) == 20


def test_one_run_and_several_runs_make_pngs(tmp_path):
    one = write_metrics(tmp_path / "one", [(500, 20.0), (1000, 80.0), (1500, 475.0)])
    path = learning_curve(one, threshold=475)
    assert path == one / "learning_curve.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1100, 400)
    runs = [
        one,
        write_metrics(tmp_path / "two", [(500, 50.0), (1000, 500.0)]),
        write_metrics(tmp_path / "three", [(500, 10.0), (1000, 30.0), (1500, 90.0), (2000, 480.0)]),
    ]
    out = plot_runs(runs, tmp_path / "all" / "curves.png", title="seeds", threshold=475)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1100, 400)


def test_missing_or_empty_metrics_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no metrics.csv"):
        learning_curve(tmp_path)
    (tmp_path / "metrics.csv").write_text("tag,value,env_steps,train_steps,wall_seconds\n")
    with pytest.raises(UserError, match="no evaluations or episodes"):
        learning_curve(tmp_path)


def test_moving_average():
    np.testing.assert_allclose(moving_average(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1, 2, 4, 6])


def test_common_grid_holds_only_solved_runs():
    solved = (np.array([0.0, 10.0]), np.array([0.0, 100.0]))  # stopped early because it solved
    cut_off = (np.array([0.0, 5.0]), np.array([0.0, 50.0]))  # stopped early for another reason
    longest = (np.array([2.0, 20.0]), np.array([20.0, 200.0]))
    grid, values = on_common_grid([solved, cut_off, longest], held=[True, False, False], points=5)
    np.testing.assert_array_equal(grid, [0, 5, 10, 15, 20])
    np.testing.assert_array_equal(values[0], [0, 50, 100, 100, 100])
    np.testing.assert_array_equal(values[1], [0, 50, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(values[2], [np.nan, 50, 100, 150, 200])


def test_solved_comes_from_summary_or_threshold(tmp_path):
    run = write_metrics(tmp_path / "run", [(500, 20.0), (1000, 480.0)])
    metrics = read_metrics(run)
    assert _solved(run, metrics, threshold=475) and not _solved(run, metrics, threshold=None)
    (run / "summary.json").write_text('{"solved": false}')
    assert not _solved(run, metrics, threshold=475)


def test_runs_of_different_environments_get_a_row_each_with_their_own_threshold(tmp_path):
    cartpole = write_metrics(tmp_path / "cartpole", [(500, 20.0), (1000, 480.0)])
    acrobot = write_metrics(tmp_path / "acrobot", [(500, -500.0), (1000, -90.0)])
    (cartpole / "summary.json").write_text('{"env_id": "CartPole-v1", "solve_threshold": 475, "solved": true}')
    (acrobot / "summary.json").write_text('{"env_id": "Acrobot-v1", "solve_threshold": -100, "solved": true}')
    out = plot_runs([cartpole, acrobot], tmp_path / "mixed.png")
    with Image.open(out) as image:
        assert image.size == (1100, 800)  # two rows of panels, not one averaged curve
    assert _run_info(acrobot) == ("Acrobot-v1", -100)
    (acrobot / "summary.json").unlink()
    (acrobot / "config.json").write_text('{"preset": "x", "config": {"env": {"id": "Acrobot-v1"}}}')
    assert _run_info(acrobot) == ("Acrobot-v1", None)
