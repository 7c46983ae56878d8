"""Learning curves from run directories' ``metrics.csv``.

One run: the periodic evaluation's mean with its min-max band, and every training episode's
return with a moving average, against environment steps and against wall-clock seconds.
Several runs (seeds): each run's evaluation curve on a common grid, their mean and min-max
spread. A run counts only up to its last evaluation, except that a run that stopped because it
solved holds its last value in the mean: stopping early is a success, not missing data. Its own
line still ends where it stopped (marked with a star), and the stretch of the mean that relies on
held values is dashed, so no run looks as if it trained on. Runs of different environments are
never averaged together: each environment gets its own row of panels and its own threshold.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from muzero.errors import UserError


class Series(NamedTuple):
    value: np.ndarray  # (T,)
    env_steps: np.ndarray  # (T,)
    seconds: np.ndarray  # (T,)


def read_metrics(run_dir: str | Path) -> dict[str, Series]:
    """Every tag of a run's metrics.csv as aligned arrays."""
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        raise UserError(f"{run_dir} has no metrics.csv (is it a run directory?)")
    columns: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            try:
                columns[row["tag"]].append((float(row["value"]), float(row["env_steps"]), float(row["wall_seconds"])))
            except (KeyError, TypeError, ValueError):
                continue  # a torn last line after a crash
    return {tag: Series(*map(np.asarray, zip(*rows, strict=True))) for tag, rows in columns.items()}


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) == 0:
        return values
    cumulative = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, len(values) + 1) - counts]) / counts


def _curves(run_dir: Path) -> dict[str, Series]:
    metrics = read_metrics(run_dir)
    if "eval/mean" not in metrics and "charts/episodic_return" not in metrics:
        raise UserError(f"{run_dir}/metrics.csv has no evaluations or episodes yet")
    return metrics


def _solved(run_dir: Path, metrics: dict[str, Series], threshold: float | None) -> bool:
    """Whether the run stopped because it solved: summary.json says so, or (for a run without one) its last
    evaluation reached the threshold."""
    try:
        return bool(json.loads((run_dir / "summary.json").read_text())["solved"])
    except (OSError, ValueError, KeyError, TypeError):
        evals = metrics.get("eval/mean")
        return threshold is not None and evals is not None and bool(evals.value[-1] >= threshold)


def _new_figure(title: str | None, rows: int) -> tuple[Figure, list[list]]:
    figure = Figure(figsize=(11, 4 * rows), dpi=100)
    axes = figure.subplots(rows, 2, squeeze=False)
    for row in axes:
        for ax, label in zip(row, ("environment steps", "wall-clock seconds"), strict=True):
            ax.set_xlabel(label)
            ax.set_ylabel("return")
            ax.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return figure, [list(row) for row in axes]


def _run_info(run_dir: Path) -> tuple[str | None, float | None]:
    """(environment id, solve threshold) of a run, from summary.json or else config.json."""
    env_id = threshold = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        summary = json.loads((run_dir / "summary.json").read_text())
        env_id, threshold = summary.get("env_id"), summary.get("solve_threshold")
    if env_id is None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            env_id = json.loads((run_dir / "config.json").read_text())["config"]["env"]["id"]
    return env_id, threshold


def _plot_single(axes: list, metrics: dict[str, Series]) -> None:
    episodes = metrics.get("charts/episodic_return")
    evals = metrics.get("eval/mean")
    for ax, x_name in zip(axes, ("env_steps", "seconds"), strict=True):
        if episodes is not None:
            x = getattr(episodes, x_name)
            ax.scatter(x, episodes.value, s=4, alpha=0.25, color="tab:gray", label="training episodes")
            ax.plot(x, moving_average(episodes.value, 10), color="tab:gray", lw=1, label="training (mean of 10)")
        if evals is not None:
            x = getattr(evals, x_name)
            low, high = metrics.get("eval/min"), metrics.get("eval/max")
            if low is not None and high is not None and len(low.value) == len(evals.value):
                ax.fill_between(x, low.value, high.value, color="tab:blue", alpha=0.2, label="evaluation min-max")
            ax.plot(x, evals.value, "o-", color="tab:blue", ms=3, label="evaluation mean")


def on_common_grid(
    curves: list[tuple[np.ndarray, np.ndarray]], held: list[bool], points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Resample R curves (x, y) onto one grid of G points from 0 to the last x of any curve.

    A curve has no value (NaN) before its first point, nor after its last unless it is held there
    (a run that stopped because it solved keeps its final return to the end). Returns the grid (G,)
    and the values (R, G).
    """
    grid = np.linspace(0.0, max(float(x[-1]) for x, _ in curves), points)
    values = [
        np.interp(grid, x, y, left=np.nan, right=y[-1] if hold else np.nan)
        for (x, y), hold in zip(curves, held, strict=True)
    ]
    return grid, np.array(values)


def _plot_many(axes: list, runs: list[dict[str, Series]], solved: list[bool]) -> None:
    evals = [(m["eval/mean"], done) for m, done in zip(runs, solved, strict=True) if "eval/mean" in m]
    if not evals:
        raise UserError("none of the runs has an evaluation yet")
    for ax, x_name in zip(axes, ("env_steps", "seconds"), strict=True):
        curves = [(getattr(series, x_name), series.value) for series, _ in evals]
        for (x, y), (_, done) in zip(curves, evals, strict=True):
            (line,) = ax.plot(x, y, lw=0.7, alpha=0.5)
            if done:  # the run stopped here because it solved
                ax.plot(x[-1:], y[-1:], "*", ms=9, color=line.get_color())
        held = [done for _, done in evals]
        grid, values = on_common_grid(curves, held)  # (G,), (R, G)
        counted = ~np.isnan(values).all(axis=0)  # grid points where at least one run has a value
        # Past the first solved run's stop, the mean counts that run at its held final value.
        first_stop = min((float(x[-1]) for (x, _), done in zip(curves, held, strict=True) if done), default=np.inf)
        grid, values = grid[counted], values[:, counted]
        mean, low, high = np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        ax.fill_between(grid, low, high, color="tab:blue", alpha=0.2, label="min-max over runs")
        live = grid <= first_stop
        label = f"evaluation mean of {len(evals)} runs"
        ax.plot(grid[live], mean[live], color="tab:blue", lw=2, label=label)
        if not live.all():
            start = max(int(live.sum()) - 1, 0)
            ax.plot(grid[start:], mean[start:], color="tab:blue", lw=2, ls="--", label="mean, solved runs held (*)")


def plot_runs(run_dirs: list[Path], out: Path, title: str | None = None, threshold: float | None = None) -> Path:
    """Draw one run's curves, or several runs' mean and spread, into ``out`` (PNG).

    Runs are grouped by environment, one row of panels each. ``threshold`` overrides the one the
    runs' summaries record (only where all runs are of one environment).
    """
    run_dirs = [Path(d) for d in run_dirs]
    groups: dict[str | None, list[Path]] = {}
    for run_dir in run_dirs:
        groups.setdefault(_run_info(run_dir)[0], []).append(run_dir)
    figure, rows = _new_figure(title, len(groups))
    for axes, (env_id, dirs) in zip(rows, groups.items(), strict=True):
        level = threshold if threshold is not None and len(groups) == 1 else _run_info(dirs[0])[1]
        runs = [_curves(d) for d in dirs]
        if len(runs) == 1:
            _plot_single(axes, runs[0])
        else:
            _plot_many(axes, runs, [_solved(d, m, level) for d, m in zip(dirs, runs, strict=True)])
        for ax in axes:
            if level is not None:
                ax.axhline(level, color="tab:red", ls="--", lw=1, label=f"threshold {level:g}")
            if len(groups) > 1 or (env_id and not title):
                ax.set_title(f"{env_id or 'unknown environment'} ({len(dirs)} run{'s' * (len(dirs) > 1)})")
            ax.legend(loc="upper left", fontsize=8)  # returns rise, so the top left is usually empty
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure).print_png(str(out))
    return out


def learning_curve(run_dir: Path, threshold: float | None = None) -> Path:
    """``run_dir/learning_curve.png`` for one run."""
    return plot_runs([run_dir], Path(run_dir) / "learning_curve.png", title=Path(run_dir).name, threshold=threshold)
