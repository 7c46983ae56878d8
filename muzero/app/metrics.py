"""Metrics for a run directory: ``metrics.csv`` (long format), TensorBoard events, optionally W&B.

Every scalar is one CSV row ``tag,value,env_steps,train_steps,wall_seconds``. Tags follow
CleanRL's names: ``charts/episodic_return``, ``charts/episodic_length``, ``charts/SPS`` and
``charts/learning_rate``, ``losses/...``, then ``eval/`` (periodic evaluations),
``eval_confirm/`` and ``eval_final/``. TensorBoard (through tensorboardX's ``SummaryWriter``)
and, with ``run.track``, Weights & Biases get the same scalars against environment steps.

A resumed run first drops what was logged after its checkpoint: the CSV is truncated to the
size the checkpoint recorded, and the new TensorBoard file starts with a purge marker at the
checkpoint's step, so TensorBoard discards the old file's later points (no stale or doubled
curves).
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tensorboardX import SummaryWriter

from muzero.errors import UserError
from muzero.training.evaluation import EvalResult
from muzero.training.learner import Losses

if TYPE_CHECKING:
    from muzero.training.trainer import Trainer

HEADER = ["tag", "value", "env_steps", "train_steps", "wall_seconds"]
EVAL_TAGS = {"periodic": "eval", "confirm": "eval_confirm", "final": "eval_final"}


class MetricsLogger:
    """An observer of the training loop that writes every metric to CSV, TensorBoard and (optionally) W&B.

    ``resume_step`` is the environment step of the checkpoint a resumed run starts from: TensorBoard
    points logged after it by the earlier session are purged. ``tracker`` is anything with
    ``log(tag, value, step)`` and ``close()`` (``WandbTracker``).
    """

    def __init__(
        self,
        run_dir: Path,
        loss_interval: int = 50,
        speed_interval_seconds: float = 10.0,
        resume_step: int | None = None,
        tracker: WandbTracker | None = None,
    ) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        new = not self.path.exists() or self.path.stat().st_size == 0
        self.file: io.TextIOWrapper = open(self.path, "a", newline="")  # noqa: SIM115 (closed in close())
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(HEADER)
        # Steps after the checkpoint are purged: everything at its step was logged before it was written.
        purge = None if not resume_step else resume_step + 1
        # tensorboardX names event files by the second they were opened: a session resumed within the
        # same second would reopen (and truncate) the previous session's file. A nanosecond suffix keeps
        # every session's file apart and sorts them in the order they were written.
        suffix = f".{time.time_ns():020d}"
        self.events = SummaryWriter(str(run_dir), purge_step=purge, flush_secs=30, filename_suffix=suffix)
        self.tracker = tracker
        self.loss_interval = loss_interval
        self.speed_interval = speed_interval_seconds
        self._loss_sums = np.zeros(len(Losses._fields))
        self._loss_count = 0
        self._speed_mark: tuple[float, int] | None = None

    def log(self, trainer: Trainer, tag: str, value: float) -> None:
        c = trainer.counters
        self.writer.writerow([tag, f"{value:.6g}", c.env_steps, c.train_steps, f"{trainer.elapsed():.3f}"])
        self.events.add_scalar(tag, value, c.env_steps)
        if self.tracker is not None:
            self.tracker.log(tag, value, c.env_steps)

    def on_episodes(self, trainer: Trainer, returns: np.ndarray, lengths: np.ndarray) -> None:
        for episode_return, length in zip(returns, lengths, strict=True):
            self.log(trainer, "charts/episodic_return", float(episode_return))
            self.log(trainer, "charts/episodic_length", float(length))

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
            self.log(trainer, "charts/SPS", (steps - self._speed_mark[1]) / (now - self._speed_mark[0]))
            self._speed_mark = (now, steps)

    def flush(self) -> int:
        """Flush to disk; returns the CSV's size, which a checkpoint records to truncate back to on resume."""
        self.file.flush()
        self.events.flush()
        return self.file.tell()

    def close(self) -> None:
        self.file.close()
        self.events.close()
        if self.tracker is not None:
            self.tracker.close()


class WandbTracker:
    """Weights & Biases for a run directory (``muzero train --track``); resumes the same W&B run.

    Each scalar is logged with ``global_step`` = environment steps as its x-axis, so points a
    resumed run logs again after its checkpoint overwrite nothing and need no monotonic W&B step.
    Offline use: set ``WANDB_MODE=offline`` (then ``wandb sync`` the run directory's ``wandb/``).
    """

    def __init__(self, run_dir: Path, config: dict, project: str, entity: str | None) -> None:
        try:
            import wandb
        except ImportError:
            raise UserError(
                '--track logs to Weights & Biases, which is not installed: pip install "muzero[wandb]"'
            ) from None
        id_file = Path(run_dir) / "wandb_id.txt"
        run_id = id_file.read_text().strip() if id_file.exists() else secrets.token_hex(4)
        id_file.write_text(run_id + "\n")
        self.run = wandb.init(
            project=project,
            entity=entity,
            config=config,
            name=Path(run_dir).name,
            id=run_id,
            resume="allow",
            dir=str(run_dir),
        )
        self.run.define_metric("global_step")
        self.run.define_metric("*", step_metric="global_step")

    def log(self, tag: str, value: float, step: int) -> None:
        self.run.log({tag: value, "global_step": step})

    def close(self) -> None:
        self.run.finish()


def truncate_metrics(run_dir: Path, size: int) -> None:
    """Drop CSV rows written after the checkpoint being resumed (they describe progress that was lost)."""
    path = Path(run_dir) / "metrics.csv"
    if path.exists() and path.stat().st_size > size:
        with open(path, "r+b") as file:
            file.truncate(size)
