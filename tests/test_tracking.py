"""Metrics reach TensorBoard and Weights & Biases alike, under CleanRL's names, and a resume leaves no stale points."""

from __future__ import annotations

import csv
import glob
import json
import struct
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from muzero.app.callbacks import BaseCallback
from muzero.app.cli import main
from muzero.app.runner import resume_run, start_run, train
from muzero.config import Config


def tensorboard_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]
    }


def csv_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    scalars = defaultdict(list)
    with open(run_dir / "metrics.csv") as file:
        for row in csv.DictReader(file):
            scalars[row["tag"]].append((int(row["env_steps"]), float(row["value"])))
    return dict(scalars)


def wandb_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Read an offline W&B run back from its .wandb file (a LevelDB-style log of protobuf records)."""
    from wandb.proto import wandb_internal_pb2

    (path,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B"
    block, position, payload, records = 32_768, 7, b"", []
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a header is padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        position += 7
        if kind == 0 and length == 0:
            break
        payload += data[position : position + length]
        position += length
        if kind in (1, 4):  # a full record, or the last fragment of one
            records.append(payload)
            payload = b""
    scalars = defaultdict(list)
    for raw in records:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        if record.HasField("history"):
            items = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            for key, value in items.items():
                if not key.startswith("_") and key != "global_step":
                    scalars[key].append((int(items["global_step"]), float(value)))
    return dict(scalars)


def close(a: dict[str, list[tuple[int, float]]], b: dict[str, list[tuple[int, float]]]) -> None:
    assert sorted(a) == sorted(b)
    for tag in a:
        assert [s for s, _ in a[tag]] == [s for s, _ in b[tag]], tag
        assert [v for _, v in a[tag]] == pytest.approx([v for _, v in b[tag]], rel=1e-5, abs=1e-6), tag


def test_tensorboard_and_wandb_receive_the_same_scalars(tiny_sb3_sets, tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason='install "muzero[wandb]" to test tracking')
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "run"
    sets = [f"--set={s}" for s in tiny_sb3_sets]
    code = main(["train", "--max-env-steps", "256", "--run-dir", str(run_dir), "--quiet", "--track", *sets])
    assert code == 0
    board, tracked, rows = tensorboard_scalars(run_dir), wandb_scalars(run_dir), csv_scalars(run_dir)
    for name in ("charts/episodic_return", "charts/episodic_length", "losses/value", "losses/policy", "eval/mean"):
        assert name in board, name
    close(board, tracked)
    close(board, rows)


def test_a_resumed_run_leaves_no_stale_or_doubled_points(tiny_sb3_sets, tmp_path, monkeypatch):
    """A run dies at 80 steps with its last checkpoint at 64; the resumed run's curves continue from 64.

    tensorboardX's clock is frozen so that both sessions open their event files in the same second, as
    they do on a fast machine (a file named by the second alone was then truncated by the resume).
    """
    import tensorboardX.event_file_writer

    frozen = SimpleNamespace(time=lambda: 1_790_000_000.0)
    monkeypatch.setattr(tensorboardX.event_file_writer, "time", frozen)
    run_dir = tmp_path / "run"
    config = Config().with_sets([*tiny_sb3_sets, "run.checkpoint_interval=32", "run.max_env_steps=128"])

    class Crash(BaseCallback):
        def _on_step(self) -> bool:
            if self.trainer.counters.env_steps == 80:
                for observer in self.trainer.observers:  # what the lost session logged is on disk
                    if hasattr(observer, "flush"):
                        observer.flush()
                raise RuntimeError("killed")
            return True

    trainer = start_run(config, run_dir, "test")
    with pytest.raises(RuntimeError, match="killed"):
        train(trainer, run_dir, progress=False, artifacts=False, callback=Crash())
    before = tensorboard_scalars(run_dir)
    assert max(step for step, _ in before["losses/value"]) > 64  # the lost session logged past its checkpoint

    resumed = resume_run(run_dir, [], None)
    assert resumed.counters.env_steps == 64
    train(resumed, run_dir, progress=False, artifacts=False)
    board = tensorboard_scalars(run_dir)
    close(board, csv_scalars(run_dir))  # the CSV is truncated to the checkpoint: the two must agree exactly
    for tag, points in board.items():
        steps = [step for step, _ in points]
        assert steps == sorted(steps), tag
    loss_steps = [step for step, _ in board["losses/value"]]
    assert len(loss_steps) == len(set(loss_steps))  # one loss point per step: nothing doubled
