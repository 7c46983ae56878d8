"""Fixtures every layer of the tests shares: the one tiny configuration, and the command line in a subprocess.

A tiny run is complete (acting, learning, periodic and confirming evaluations, checkpoints) in seconds:
4 environments, 4 simulations, evaluations of 2 episodes, episodes cut at 40 steps.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from muzero.config import Config

ROOT = Path(__file__).resolve().parents[1]

TINY_SETS = (
    "env.num_envs=4",
    "search.num_simulations=4",
    "learner.batch_size=16",
    "acting.min_replay_size=16",
    "eval.interval=32",
    "eval.episodes=2",
    "eval.confirm_episodes=2",
    "eval.final_episodes=2",
    "env.max_episode_steps=40",
    "run.checkpoint_interval=32",
    # A tiny run that asks for a large budget and stops early (learn(10_000) with a callback, train
    # --max-env-steps 100000 and a kill) plans 20,000 gradient steps or more, so learner.compile=auto would
    # compile the loss, 25-45 s for nothing (the suite: 920.6 s with it, 718.0 s without).
    "learner.compile=off",
)


@pytest.fixture(scope="session")
def tiny_sets() -> list[str]:
    """The tiny run as ``--set`` values (``key=value``)."""
    return list(TINY_SETS)


@pytest.fixture(scope="session")
def tiny_sb3_sets() -> list[str]:
    """The tiny run with the default 16 environments (so ``learn(n)`` runs exactly n steps for n % 16 == 0)
    and no periodic checkpoints, as a Stable-Baselines3 user's ``learn`` calls have."""
    return [s for s in TINY_SETS if not s.startswith("env.num_envs=")] + ["run.checkpoint_interval=0"]


@pytest.fixture(scope="session")
def tiny_config() -> Callable[..., Config]:
    """``tiny_config(steps, *extra_sets)``: the tiny run's Config with a budget of ``steps`` environment steps."""

    def make(steps: int = 96, *extra: str) -> Config:
        return Config().with_sets([*TINY_SETS, f"run.max_env_steps={steps}", *extra])

    return make


@pytest.fixture(scope="session")
def tiny_cli_args() -> list[str]:
    """The tiny run as command-line arguments: ``--set key=value`` pairs."""
    return [arg for item in TINY_SETS for arg in ("--set", item)]


def _command(*args: str) -> tuple[list[str], dict]:
    """``python -m muzero ARGS`` from the repository root, with this checkout's package and no display."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
    return [sys.executable, "-m", "muzero", *args], {"cwd": ROOT, "env": env, "text": True}


def run_muzero(
    *args: str, timeout: float = 300, check: bool = False, input: str | None = None
) -> subprocess.CompletedProcess:
    """The command line in a subprocess, as a user runs it (``input``: what the user types); waits for it."""
    argv, options = _command(*args)
    result = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, **options)
    if check and result.returncode != 0:
        raise AssertionError(f"muzero {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """``cli(*args, timeout=300, check=False, input=None)``: the command line in a subprocess (see ``run_muzero``)."""
    return run_muzero


@pytest.fixture(scope="session")
def cli_process() -> Callable[..., subprocess.Popen]:
    """``cli_process(*args)``: the command line started in a subprocess and left running (pipes for its output),
    for tests that signal or kill it."""

    def start(*args: str) -> subprocess.Popen:
        argv, options = _command(*args)
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)

    return start
