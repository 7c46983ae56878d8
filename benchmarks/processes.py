"""Resident memory of a run's processes, sampled from a thread while the run trains (for the benchmarks).

``MemorySampler(trainer, interval)`` samples the driver and, in a Ray run, every self-play actor
(their process ids from the trainer's actor pool), with the run's environment steps and the rows in
its replay buffer, so a benchmark can show memory flat once replay is full.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
import time


def rss_mib(pid: int | None = None) -> float | None:
    """Resident memory of a process in MiB (Linux /proc; elsewhere only this process's peak)."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"/proc/{pid}/statm") as file:
            return int(file.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        if pid != os.getpid():
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class MemorySampler(threading.Thread):
    """Every ``interval`` seconds: minutes, env steps, replay rows, driver RSS and each actor's RSS."""

    def __init__(self, trainer, interval: float, echo: bool = False) -> None:
        super().__init__(daemon=True)
        self.trainer, self.interval, self.echo = trainer, interval, echo
        self.samples: list[dict] = []
        self.actor_pids: list[int] = []
        self.done = threading.Event()

    def sample(self, started: float) -> None:
        pool = getattr(self.trainer, "pool", None)
        if pool is not None:
            # Restarted actors have new ids; one restarting keeps the last ids until the next sample.
            with contextlib.suppress(Exception):
                self.actor_pids = pool.pids(timeout=10.0)
        replay = self.trainer.replay
        rings = replay.num_envs * replay.rows_per_env
        self.samples.append(
            {
                "minute": round((time.perf_counter() - started) / 60, 2),
                "env_steps": self.trainer.counters.env_steps,
                "replay_rows": int(min(replay.head[: replay.num_envs].sum(), rings)),
                "rss_mib": round(rss_mib() or 0.0, 1),
                # None for an actor whose process is gone (restarting, or the run shutting down).
                "actor_rss_mib": [_rounded(rss_mib(pid)) for pid in self.actor_pids],
            }
        )
        if self.echo:
            print(self.samples[-1], file=sys.stderr, flush=True)

    def run(self) -> None:
        started = time.perf_counter()
        self.sample(started)
        while not self.done.wait(self.interval):
            self.sample(started)

    def stop(self) -> list[dict]:
        self.done.set()
        self.join()
        return self.samples
