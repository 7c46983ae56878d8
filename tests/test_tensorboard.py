"""The hand-written TensorBoard writer, read back by TensorBoard's own reader."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from muzero.app.tensorboard import EventWriter, crc32c


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_scalars_read_back_by_tensorboard(tmp_path):
    with EventWriter(tmp_path) as writer:
        for step in range(5):
            writer.add_scalar("eval/mean", 10.5 * step, step * 100)
            writer.add_scalar("losses/value", 1.0 / (step + 1), step * 100)
        writer.add_scalar("charts/huge_step", -3.25, 2**40)
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert set(accumulator.Tags()["scalars"]) == {"eval/mean", "losses/value", "charts/huge_step"}
    events = accumulator.Scalars("eval/mean")
    assert [e.step for e in events] == [0, 100, 200, 300, 400]
    assert [e.value for e in events] == pytest.approx([0.0, 10.5, 21.0, 31.5, 42.0])
    assert [e.value for e in accumulator.Scalars("losses/value")] == pytest.approx(
        [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5], rel=1e-6
    )
    (huge,) = accumulator.Scalars("charts/huge_step")
    assert huge.step == 2**40 and huge.value == -3.25


def test_two_writers_in_one_directory_do_not_collide(tmp_path):
    with EventWriter(tmp_path) as a, EventWriter(tmp_path) as b:
        assert a.path != b.path
