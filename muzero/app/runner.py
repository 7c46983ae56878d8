"""A training run and its directory: config, metrics, checkpoints, summary, learning curve and GIF.

This is the shell around ``Trainer``: it owns files, signals and output, and the trainer knows
none of them. A run directory holds

    config.json          the resolved config (plain JSON)
    metrics.csv          every scalar, long format (see ``muzero.app.metrics``)
    events.out.tfevents.*  the same scalars for TensorBoard
    checkpoint.pt        the latest checkpoint (atomic; resume with ``muzero train --resume DIR``)
    checkpoint.prev.pt   the one before it, used if checkpoint.pt is found corrupt
    summary.json         the outcome, written at the end
    learning_curve.png   evaluation and training returns against steps and wall-clock
    agent.gif            one evaluation episode
"""

from __future__ import annotations

import json
import platform
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch

from muzero._version import __version__
from muzero.app.callbacks import BaseCallback
from muzero.app.checkpoint import CHECKPOINT_NAME, PREVIOUS_NAME, atomic_write, load_checkpoint, save_checkpoint
from muzero.app.metrics import MetricsLogger, WandbTracker, truncate_metrics
from muzero.app.progress import ProgressPrinter
from muzero.config import Config
from muzero.errors import CheckpointError, CheckpointWriteError, TrainingDiverged, UserError
from muzero.training.evaluation import EvalResult
from muzero.training.learner import Losses
from muzero.training.trainer import Trainer


@dataclass
class RunOutcome:
    # "solved" (confirmed, and held by the final evaluation), "final_below_threshold" (confirmed, but the final
    # evaluation fell short), "budget", "stopped" (by a callback), "interrupted" or "diverged"
    status: str
    summary: dict[str, Any]
    run_dir: Path | None

    @property
    def exit_code(self) -> int:
        return {"interrupted": 130, "diverged": 1}.get(self.status, 0)


def versions() -> dict[str, str]:
    return {
        "muzero": __version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def default_run_dir(config: Config, preset: str) -> Path:
    """runs/<env>__<preset>__<seed>__<time>, with characters Windows or macOS refuse in a name replaced."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    env = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", config.env.id)
    return Path("runs") / f"{env}__{preset}__{config.run.seed}__{stamp}"


def write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda file: file.write(text.encode()))


def make_trainer(config: Config, env_factory: Callable[..., gymnasium.Env] | None = None) -> Trainer:
    """The trainer ``distributed.backend`` asks for: the single-process ``Trainer``, or Ray's (imported only then)."""
    if config.distributed.backend == "ray":
        from muzero.distributed.ray_backend import RayTrainer

        return RayTrainer(config, env_factory=env_factory)
    return Trainer(config, env_factory=env_factory)


def start_run(
    config: Config, run_dir: Path, preset: str, env_factory: Callable[..., gymnasium.Env] | None = None
) -> Trainer:
    """A fresh run in a new (or empty) directory; config.json records the config as resolved."""
    if (run_dir / CHECKPOINT_NAME).exists():
        raise UserError(f"{run_dir} already holds a run; continue it with: muzero train --resume {run_dir}")
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = make_trainer(config, env_factory)
    write_config(run_dir, preset, trainer.config)
    return trainer


def write_config(run_dir: Path, preset: str, config: Config) -> None:
    write_json(run_dir / "config.json", {"preset": preset, "config": config.to_dict()})


def resume_run(
    run_dir: Path, sets: list[str], max_env_steps: int | None, say: Callable[[str], None] | None = None
) -> Trainer:
    """Rebuild a run from its checkpoint, optionally with overrides (shapes must still match).

    A run killed before its first checkpoint starts over from the config.json it wrote, and ``say`` (default:
    standard error) is told so, as it is when a corrupt checkpoint is passed over for the previous one.
    """
    say = say or (lambda text: print(text, file=sys.stderr))
    if not run_dir.is_dir():
        raise CheckpointError(f"no such run directory: {run_dir}")
    if (
        not any((run_dir / name).exists() for name in (CHECKPOINT_NAME, PREVIOUS_NAME))
        and (run_dir / "config.json").exists()
    ):
        return _restart_run(run_dir, sets, max_env_steps, say)
    state = load_checkpoint(run_dir, say=say)
    config = _with_budget(Config.from_dict(state["config"]).with_sets(sets), max_env_steps)
    trainer = make_trainer(config)
    trainer.load_state_dict(state)
    truncate_metrics(run_dir, int(state.get("metrics_bytes", 0)))
    if sets or max_env_steps is not None:
        write_config(run_dir, _preset_of(run_dir), config)
    return trainer


def _with_budget(config: Config, max_env_steps: int | None) -> Config:
    return config if max_env_steps is None else config.with_sets([f"run.max_env_steps={max_env_steps}"])


def _restart_run(run_dir: Path, sets: list[str], max_env_steps: int | None, say: Callable[[str], None]) -> Trainer:
    """The run of ``run_dir`` from its beginning, as its config.json describes it (no checkpoint was written)."""
    try:
        recorded = json.loads((run_dir / "config.json").read_text())
        config = Config.from_dict(recorded["config"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(
            f"run directory {run_dir} holds no checkpoint and an unreadable config.json: {error}"
        ) from None
    config = _with_budget(config.with_sets(sets), max_env_steps)
    say(f"{run_dir} holds no checkpoint yet (stopped before the first): starting the run over from its config.json")
    truncate_metrics(run_dir, 0)
    for events in run_dir.glob("events.out.tfevents.*"):  # the lost attempt's TensorBoard points
        events.unlink()
    trainer = make_trainer(config)
    write_config(run_dir, recorded.get("preset", "custom"), trainer.config)
    return trainer


def _preset_of(run_dir: Path) -> str:
    try:
        return json.loads((run_dir / "config.json").read_text())["preset"]
    except (OSError, ValueError, KeyError):
        return "custom"


class Checkpointer:
    """An observer that writes a checkpoint every ``run.checkpoint_interval`` environment steps."""

    def __init__(self, run_dir: Path, metrics: MetricsLogger) -> None:
        self.run_dir = run_dir
        self.metrics = metrics
        self.saved_at: tuple[int, int] | None = None  # (env steps, train steps) of the last checkpoint written

    def save(self, trainer: Trainer) -> None:
        """Write a checkpoint, unless the last one is of this very moment (so the previous one stays older)."""
        moment = (trainer.counters.env_steps, trainer.counters.train_steps)
        if moment == self.saved_at:
            return
        self.saved_at = moment
        state = trainer.state_dict()
        state["metrics_bytes"] = self.metrics.flush()
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, state)

    def on_iteration(self, trainer: Trainer) -> None:
        c = trainer.counters
        interval = trainer.config.run.checkpoint_interval
        if interval and c.env_steps >= c.next_checkpoint:
            while c.next_checkpoint <= c.env_steps:
                c.next_checkpoint += interval
            self.save(trainer)

    def on_episodes(self, trainer: Trainer, returns: np.ndarray, lengths: np.ndarray) -> None:
        pass

    def on_train_step(self, trainer: Trainer, losses: Losses) -> None:
        pass

    def on_eval(self, trainer: Trainer, result: EvalResult, kind: str) -> None:
        pass


@contextmanager
def stop_on_interrupt(trainer: Trainer, progress: ProgressPrinter | None):
    """First Ctrl-C (or SIGTERM) asks the loop to stop after the current iteration; a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, frame: Any) -> None:
        if trainer.interrupt():
            raise KeyboardInterrupt
        if progress is not None:
            progress.message("stopping after this iteration and saving a checkpoint (Ctrl-C again to abort)")

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train(
    trainer: Trainer,
    run_dir: Path | None,
    progress: bool = True,
    artifacts: bool = True,
    *,
    budget: int | None = None,
    callback: BaseCallback | None = None,
    agent: Any = None,
    live: bool | None = None,
    log_interval: float | None = None,
    final_evaluation: bool = True,
) -> RunOutcome:
    """Run the loop with metrics, progress, checkpoints and callbacks; then evaluate, summarise, plot, render.

    ``budget`` is the environment step to train up to (default ``run.max_env_steps``); ``callback`` (see
    ``muzero.app.callbacks``) is initialised with ``agent``; ``live`` forces (or forbids) the self-updating
    progress line, which is otherwise used on a terminal; ``log_interval`` is seconds between progress lines;
    ``final_evaluation`` runs the ``eval.final_episodes``-episode evaluation the summary reports.
    """
    config = trainer.config
    budget = config.run.max_env_steps if budget is None else budget
    printer = (
        ProgressPrinter(budget, interval_seconds=log_interval or config.run.log_interval_seconds, live=live)
        if progress
        else None
    )
    observers: list[Any] = [printer] if printer else []
    metrics = checkpointer = None
    if run_dir is not None:
        tracker = None
        if config.run.track:
            tracker = WandbTracker(run_dir, config.to_dict(), config.run.wandb_project, config.run.wandb_entity)
        metrics = MetricsLogger(run_dir, resume_step=trainer.counters.env_steps, tracker=tracker)
        checkpointer = Checkpointer(run_dir, metrics)
        observers += [metrics, checkpointer]
    if callback is not None:
        observers.append(callback)
    lifecycle = callback.session(agent, trainer) if callback is not None else nullcontext()
    with trainer.observing(observers, announce=printer.message if printer else None), lifecycle:
        for note in trainer.notes:
            _say(printer, note)
        status = "diverged"
        try:
            with stop_on_interrupt(trainer, printer):
                trainer.run(budget)
            status = trainer.end_reason()
            if checkpointer is not None:
                checkpointer.save(trainer)
        except TrainingDiverged as error:
            where = f"; the last good checkpoint is {run_dir / CHECKPOINT_NAME}" if run_dir else ""
            _say(printer, f"training stopped: {error}{where}")
        except CheckpointWriteError:
            if metrics is not None:
                _close_quietly(metrics)
            raise
        finally:
            if printer:
                printer.close()
        final = None
        if final_evaluation and status in ("solved", "budget", "stopped"):
            final = trainer.final_evaluation()
            trainer.counters.wall_seconds = trainer.elapsed()  # the summary's wall time includes it, as its split does
        if status == "solved" and not trainer.is_solved(final):
            status = "final_below_threshold"
    summary = make_summary(trainer, final, status)
    if run_dir is not None and metrics is not None:
        metrics.close()
        write_json(run_dir / "summary.json", summary)
        if artifacts and status in ("solved", "final_below_threshold", "budget", "stopped"):
            write_artifacts(trainer, run_dir, printer)
    if status == "interrupted" and run_dir is not None:
        _say(
            printer,
            f"interrupted at {trainer.counters.env_steps:,} env steps; checkpoint saved. "
            f"Continue with: muzero train --resume {run_dir}",
        )
    return RunOutcome(status, summary, run_dir)


def _close_quietly(metrics: MetricsLogger) -> None:
    """Close the metrics files on the way out of a failed write (they may fail the same way)."""
    with suppress(OSError):
        metrics.close()


def _say(printer: ProgressPrinter | None, text: str) -> None:
    if printer is not None:
        printer.message(text)


def make_summary(trainer: Trainer, final: EvalResult | None, status: str) -> dict[str, Any]:
    c = trainer.counters
    return {
        "env_id": trainer.config.env.id,
        "seed": trainer.config.run.seed,
        "status": status,
        "solved": trainer.is_solved(final),  # confirmed and held by the final evaluation (Trainer.is_solved)
        "confirmed": c.solved,  # a periodic evaluation reached the threshold and the confirmation held it
        "solve_threshold": trainer.solve_threshold,
        "env_steps_to_solve": c.env_steps_to_solve,
        "seconds_to_solve": None if c.seconds_to_solve is None else round(c.seconds_to_solve, 2),
        "final_eval": None if final is None else final.summary() | ({"games": final.games} if final.games else {}),
        "total_env_steps": c.env_steps,
        "total_train_steps": c.train_steps,
        "episodes": c.episodes,
        "wall_seconds": round(c.wall_seconds, 2),
        # acting, learning and evaluation (periodic and final); "other" is the rest (checkpoints, logging, setup)
        "time_split_seconds": {k: round(v, 2) for k, v in c.timers.items()}
        | {"other": round(max(c.wall_seconds - sum(c.timers.values()), 0.0), 2)},
        "versions": versions(),
    } | ({} if (backend := trainer.backend_summary()) is None else {"distributed": backend})


def write_artifacts(trainer: Trainer, run_dir: Path, printer: ProgressPrinter | None) -> None:
    """learning_curve.png and agent.gif; failures here are reported, never fatal to a finished run."""
    from muzero.app.plotting import learning_curve
    from muzero.app.render import animation_settings, record_episode, save_animation
    from muzero.envs.games.opponents import opponents_for

    try:
        learning_curve(run_dir, threshold=trainer.solve_threshold)
    except (UserError, OSError, ValueError) as error:
        _say(printer, f"could not draw the learning curve: {error}")
    try:
        source = trainer.source
        frame_skip, fps = animation_settings(source)
        # A game: the agent (moving first) against the opponent its evaluations use.
        opponent = None if source.game is None else trainer.config.eval.opponent or opponents_for(source.game)[0]
        recording = record_episode(
            trainer.model,
            source,
            trainer.config.search,
            seed=trainer.generators.eval_seed,
            frame_skip=frame_skip,
            opponent=opponent,
        )
        save_animation(recording.frames, run_dir / "agent.gif", fps=fps)
    except (UserError, OSError, ValueError) as error:
        _say(printer, f"could not render agent.gif: {error}")
