"""Progress output while training: a live status line on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TYPE_CHECKING, TextIO

import numpy as np

from muzero.app.formatting import describe_returns, format_return
from muzero.training.evaluation import EvalResult
from muzero.training.learner import Losses

if TYPE_CHECKING:
    from muzero.training.trainer import Trainer


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressPrinter:
    """An observer printing environment steps, episodes, recent returns, last evaluation, speed and time left."""

    def __init__(
        self, budget: int, stream: TextIO | None = None, interval_seconds: float = 5.0, live: bool | None = None
    ) -> None:
        self.budget = budget
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = 0.25 if self.live else interval_seconds
        self.recent_returns: deque[float] = deque(maxlen=20)
        self._last_print = 0.0
        self._speed: deque[tuple[float, int]] = deque(maxlen=20)
        self._line_open = False

    def status(self, trainer: Trainer) -> str:
        c = trainer.counters
        now = time.perf_counter()
        self._speed.append((now, c.env_steps))
        (t0, s0), (t1, s1) = self._speed[0], self._speed[-1]
        speed = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        left = format_duration((self.budget - c.env_steps) / speed) if speed > 0 else "?"
        recent = format_return(float(np.mean(self.recent_returns))) if self.recent_returns else "-"
        last_eval = "-" if c.last_eval_mean is None else format_return(c.last_eval_mean)
        return (
            f"env steps {c.env_steps:,}/{self.budget:,} | episodes {c.episodes:,} | return {recent} | "
            f"eval {last_eval} | {speed:,.0f} steps/s | {format_duration(trainer.elapsed())} elapsed, "
            f"<= {left} left"
        )

    def _emit(self, text: str, transient: bool) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text + ("" if transient else "\n"))
            self._line_open = transient
        elif not transient or text:
            self.stream.write(text + "\n")
        self.stream.flush()

    def on_episodes(self, trainer: Trainer, returns: np.ndarray, lengths: np.ndarray) -> None:
        self.recent_returns.extend(float(r) for r in returns)

    def on_train_step(self, trainer: Trainer, losses: Losses) -> None:
        pass

    def on_eval(self, trainer: Trainer, result: EvalResult, kind: str) -> None:
        s = result.summary()
        label = {"periodic": "evaluation", "confirm": "confirmation", "final": "final evaluation"}[kind]
        early = " (stopped early: the threshold was out of reach)" if result.stopped_early else ""
        if result.games:
            name = next(iter(result.games))
            self._emit(
                f"{label} at {trainer.counters.env_steps:,} env steps: score {s['mean']:.3f} against {name} "
                f"(W/D/L {s['wins']}/{s['draws']}/{s['losses']}) over {s['episodes']} games, "
                f"{s['distinct_games']} distinct{early}",
                transient=False,
            )
            return
        self._emit(
            f"{label} at {trainer.counters.env_steps:,} env steps: {describe_returns(s)}{early}", transient=False
        )

    def on_iteration(self, trainer: Trainer) -> None:
        now = time.perf_counter()
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._emit(self.status(trainer), transient=self.live)

    def message(self, text: str) -> None:
        self._emit(text, transient=False)

    def close(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False
