"""Learning curves from run directories' ``metrics.csv``.

One run: the periodic evaluation's mean with its min-max band, and every training episode's
return with a moving average, against environment steps and against wall-clock seconds.
Several runs (seeds): each run's evaluation curve on a common grid, their mean and min-max
spread. A run that stopped because it solved holds its last value to the end of the grid.
"""

from __future__ import annotations

import csv
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
    if "eval/mean" not in metrics and "charts/episode_return" not in metrics:
        raise UserError(f"{run_dir}/metrics.csv has no evaluations or episodes yet")
    return metrics


def _new_figure(title: str | None) -> tuple[Figure, list]:
    figure = Figure(figsize=(11, 4), dpi=100)
    axes = figure.subplots(1, 2)
    for ax, label in zip(axes, ("environment steps", "wall-clock seconds"), strict=True):
        ax.set_xlabel(label)
        ax.set_ylabel("return")
        ax.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return figure, list(axes)


def _plot_single(axes: list, metrics: dict[str, Series]) -> None:
    episodes = metrics.get("charts/episode_return")
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


def _plot_many(axes: list, runs: list[dict[str, Series]]) -> None:
    evals = [m["eval/mean"] for m in runs if "eval/mean" in m]
    if not evals:
        raise UserError("none of the runs has an evaluation yet")
    for ax, x_name in zip(axes, ("env_steps", "seconds"), strict=True):
        end = max(getattr(e, x_name)[-1] for e in evals)
        grid = np.linspace(0, end, 200)
        stacked = []
        for series in evals:
            x = getattr(series, x_name)
            ax.plot(x, series.value, lw=0.7, alpha=0.5)
            # Before a run's first evaluation it has no value; after its last it holds that value.
            on_grid = np.interp(grid, x, series.value, left=np.nan, right=series.value[-1])
            stacked.append(on_grid)
        stacked = np.array(stacked)
        counted = ~np.isnan(stacked).all(axis=0)
        with np.errstate(all="ignore"):
            mean = np.nanmean(stacked[:, counted], axis=0)
            low, high = np.nanmin(stacked[:, counted], axis=0), np.nanmax(stacked[:, counted], axis=0)
        ax.fill_between(grid[counted], low, high, color="tab:blue", alpha=0.2, label="min-max over runs")
        ax.plot(grid[counted], mean, color="tab:blue", lw=2, label=f"evaluation mean of {len(evals)} runs")


def plot_runs(run_dirs: list[Path], out: Path, title: str | None = None, threshold: float | None = None) -> Path:
    """Draw one run's curves, or several runs' mean and spread, into ``out`` (PNG)."""
    runs = [_curves(Path(d)) for d in run_dirs]
    figure, axes = _new_figure(title)
    if len(runs) == 1:
        _plot_single(axes, runs[0])
    else:
        _plot_many(axes, runs)
    for ax in axes:
        if threshold is not None:
            ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:g}")
        ax.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure).print_png(str(out))
    return out


def learning_curve(run_dir: Path, threshold: float | None = None) -> Path:
    """``run_dir/learning_curve.png`` for one run."""
    return plot_runs([run_dir], Path(run_dir) / "learning_curve.png", title=Path(run_dir).name, threshold=threshold)
