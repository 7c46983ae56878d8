"""Metrics for a run directory: ``metrics.csv`` (long format) and TensorBoard event files.

Every scalar is one CSV row ``tag,value,env_steps,train_steps,wall_seconds``; tags are
namespaced: ``charts/`` (training episodes, speed), ``losses/``, ``eval/`` (periodic
evaluations), ``eval_confirm/`` and ``eval_final/``. TensorBoard gets the same scalars
against environment steps.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from muzero.app.tensorboard import EventWriter
from muzero.training.evaluation import EvalResult
from muzero.training.learner import Losses

if TYPE_CHECKING:
    from muzero.training.trainer import Trainer

HEADER = ["tag", "value", "env_steps", "train_steps", "wall_seconds"]
EVAL_TAGS = {"periodic": "eval", "confirm": "eval_confirm", "final": "eval_final"}


class MetricsLogger:
    """An observer of the training loop that writes every metric to CSV and TensorBoard."""

    def __init__(self, run_dir: Path, loss_interval: int = 50, speed_interval_seconds: float = 10.0) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        new = not self.path.exists() or self.path.stat().st_size == 0
        self.file: io.TextIOWrapper = open(self.path, "a", newline="")  # noqa: SIM115 (closed in close())
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(HEADER)
        self.events = EventWriter(run_dir)
        self.loss_interval = loss_interval
        self.speed_interval = speed_interval_seconds
        self._loss_sums = np.zeros(len(Losses._fields))
        self._loss_count = 0
        self._speed_mark: tuple[float, int] | None = None

    def log(self, trainer: Trainer, tag: str, value: float) -> None:
        c = trainer.counters
        self.writer.writerow([tag, f"{value:.6g}", c.env_steps, c.train_steps, f"{trainer.elapsed():.3f}"])
        self.events.add_scalar(tag, value, c.env_steps)

    def on_episodes(self, trainer: Trainer, returns: np.ndarray, lengths: np.ndarray) -> None:
        for episode_return, length in zip(returns, lengths, strict=True):
            self.log(trainer, "charts/episode_return", float(episode_return))
            self.log(trainer, "charts/episode_length", float(length))

    def on_train_step(self, trainer: Trainer, losses: Losses) -> None:
        self._loss_sums += losses
        self._loss_count += 1
        if self._loss_count == self.loss_interval:
            for name, total in zip(Losses._fields, self._loss_sums, strict=True):
                prefix = "charts" if name == "learning_rate" else "losses"
                self.log(trainer, f"{prefix}/{name}", total / self._loss_count)
            self._loss_sums[:] = 0.0
            self._loss_count = 0

    def on_eval(self, trainer: Trainer, result: EvalResult, kind: str) -> None:
        prefix = EVAL_TAGS[kind]
        for name, value in result.summary().items():
            if name != "episodes":
                self.log(trainer, f"{prefix}/{name}", value)
        self.flush()

    def on_iteration(self, trainer: Trainer) -> None:
        now = time.perf_counter()
        steps = trainer.counters.env_steps
        if self._speed_mark is None:
            self._speed_mark = (now, steps)
        elif now - self._speed_mark[0] >= self.speed_interval:
            self.log(trainer, "charts/steps_per_second", (steps - self._speed_mark[1]) / (now - self._speed_mark[0]))
            self._speed_mark = (now, steps)

    def flush(self) -> int:
        """Flush to disk; returns the CSV's size, which a checkpoint records to truncate back to on resume."""
        self.file.flush()
        self.events.flush()
        return self.file.tell()

    def close(self) -> None:
        self.file.close()
        self.events.close()


def truncate_metrics(run_dir: Path, size: int) -> None:
    """Drop CSV rows written after the checkpoint being resumed (they describe progress that was lost)."""
    path = Path(run_dir) / "metrics.csv"
    if path.exists() and path.stat().st_size > size:
        with open(path, "r+b") as file:
            file.truncate(size)
