"""Checkpoints that survive: the previous one kept, corrupt ones passed over, a kill before the first
checkpoint or between the write and the rename, a full disk, and a summary whose time adds up."""

from __future__ import annotations

import errno
import json
import signal
import time
from pathlib import Path

import pytest
import torch

from muzero.app import checkpoint as checkpoint_module
from muzero.app.checkpoint import CHECKPOINT_NAME, PAUSE_HOOK, PREVIOUS_NAME, load_checkpoint
from muzero.app.cli import main
from muzero.app.runner import start_run, train
from muzero.errors import CheckpointWriteError


def _wait_for(path: Path, process, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, f"timed out waiting for {path}"
        time.sleep(0.05)


def _env_steps(path: Path) -> int:
    return int(torch.load(path, weights_only=True)["counters"]["env_steps"])


def test_the_previous_checkpoint_is_kept_and_used_when_the_latest_is_corrupt(cli, tiny_cli_args, tmp_path):
    run_dir = tmp_path / "run"
    result = cli("train", "--max-env-steps", "64", "--run-dir", str(run_dir), *tiny_cli_args, "--quiet")
    assert result.returncode == 0, result.stderr
    latest, previous = _env_steps(run_dir / CHECKPOINT_NAME), _env_steps(run_dir / PREVIOUS_NAME)
    assert latest == 64 and previous < latest
    data = (run_dir / CHECKPOINT_NAME).read_bytes()
    (run_dir / CHECKPOINT_NAME).write_bytes(data[: len(data) // 3])  # corrupted on disk
    result = cli("train", "--resume", str(run_dir), "--max-env-steps", str(previous + 32), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "corrupt or truncated" in result.stderr and "using the previous checkpoint" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((run_dir / "summary.json").read_text())["total_env_steps"] == previous + 32


def test_a_run_killed_before_its_first_checkpoint_starts_over(cli, cli_process, tiny_cli_args, tmp_path):
    run_dir = tmp_path / "early"
    # No periodic checkpoint within the budget: the kill comes before any checkpoint exists.
    process = cli_process(
        "train", "--max-env-steps", "100000", "--run-dir", str(run_dir), *tiny_cli_args,
        "--set", "run.checkpoint_interval=0", "--quiet",
    )  # fmt: skip
    _wait_for(run_dir / "metrics.csv", process)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run_dir / CHECKPOINT_NAME).exists()
    result = cli("train", "--resume", str(run_dir), "--max-env-steps", "48", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "starting the run over from its config.json" in result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["total_env_steps"] == 48
    steps = [int(row.split(",")[2]) for row in (run_dir / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(steps)  # the lost attempt's rows are gone


def test_a_kill_between_the_write_and_the_rename_leaves_a_valid_checkpoint(
    cli, cli_process, tiny_cli_args, tmp_path, monkeypatch
):
    run_dir = tmp_path / "paused"
    monkeypatch.setenv(PAUSE_HOOK, "2")  # the second checkpoint stops before its rename
    process = cli_process(
        "train", "--max-env-steps", "100000", "--run-dir", str(run_dir), *tiny_cli_args,
        "--set", "run.checkpoint_interval=16", "--quiet",
    )  # fmt: skip
    _wait_for(run_dir / (CHECKPOINT_NAME + ".paused"), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    monkeypatch.delenv(PAUSE_HOOK)
    assert list(run_dir.glob(f".{CHECKPOINT_NAME}.tmp-*"))  # the new one was written, never renamed
    first = _env_steps(run_dir / CHECKPOINT_NAME)  # the first checkpoint, intact
    assert first == 16
    result = cli("train", "--resume", str(run_dir), "--max-env-steps", "48", "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads((run_dir / "summary.json").read_text())["total_env_steps"] == 48


def _fill_the_disk_on_write(monkeypatch, from_write: int) -> None:
    """torch.save into a checkpoint fails with ENOSPC from the ``from_write``-th call on."""
    calls = {"n": 0}
    real_save = torch.save

    def save(payload, file):
        calls["n"] += 1
        if calls["n"] >= from_write:
            file.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(payload, file)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)


def test_a_full_disk_keeps_the_previous_checkpoint_and_stops_with_one_line(tiny_sets, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "full"
    _fill_the_disk_on_write(monkeypatch, from_write=2)
    sets = [arg for item in tiny_sets for arg in ("--set", item)]
    status = main(["train", "--max-env-steps", "128", "--run-dir", str(run_dir), *sets, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == CheckpointWriteError.exit_code == 74
    assert len(err) == 1 and "No space left on device" in err[0] and "--resume" in err[0], err
    monkeypatch.undo()
    assert load_checkpoint(run_dir)["counters"]["env_steps"] == 32  # the first checkpoint, untouched
    assert not list(run_dir.glob(".*.tmp-*"))  # the partial file was removed


def test_the_api_raises_a_checkpoint_write_error_and_the_time_split_adds_up(tiny_config, tmp_path, monkeypatch):
    trainer = start_run(tiny_config(64), tmp_path / "ok", "test")
    outcome = train(trainer, tmp_path / "ok", progress=False, artifacts=False)
    summary = outcome.summary
    assert set(summary["time_split_seconds"]) == {"acting", "learning", "evaluation", "other"}
    assert sum(summary["time_split_seconds"].values()) == pytest.approx(summary["wall_seconds"], abs=0.05)
    assert summary["time_split_seconds"]["evaluation"] > 0

    _fill_the_disk_on_write(monkeypatch, from_write=1)
    trainer = start_run(tiny_config(64), tmp_path / "full", "test")
    with pytest.raises(CheckpointWriteError, match="previous checkpoint is intact"):
        train(trainer, tmp_path / "full", progress=False, artifacts=False)
