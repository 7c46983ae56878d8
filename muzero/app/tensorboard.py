"""A dependency-free TensorBoard event-file writer for scalars.

TensorBoard reads TFRecord files of ``Event`` protocol buffers. Scalars need only a handful of
fields, so they are encoded here by hand rather than pulling in TensorFlow, tensorboard or
protobuf at run time:

    record = uint64 length | masked crc32c(length) | data | masked crc32c(data)     (little-endian)
    Event  = 1: wall_time (double), 2: step (int64), 3: file_version (string), 5: summary
    Summary.Value = 1: tag (string), 2: simple_value (float)
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from types import TracebackType


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord framing uses."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # int64 is encoded as its two's complement
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def encode_event(
    wall_time: float, step: int, *, file_version: str | None = None, scalar: tuple[str, float] | None = None
) -> bytes:
    event = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3 | 0) + _varint(step)
    if file_version is not None:
        event += _length_delimited(3, file_version.encode())
    if scalar is not None:
        tag, value = scalar
        summary_value = _length_delimited(1, tag.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", value)
        event += _length_delimited(5, _length_delimited(1, summary_value))
    return event


def frame_record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", _masked_crc(header)) + data + struct.pack("<I", _masked_crc(data))


class EventWriter:
    """Appends scalar events to a new ``events.out.tfevents.*`` file in ``log_dir``."""

    def __init__(self, log_dir: str | Path) -> None:
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()
        self.path = log_dir / f"events.out.tfevents.{int(now)}.{socket.gethostname()}"
        suffix = 1
        while self.path.exists():  # two writers in the same second
            self.path = log_dir / f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{suffix}"
            suffix += 1
        self.file = open(self.path, "ab")  # noqa: SIM115 (closed in close())
        self.file.write(frame_record(encode_event(now, 0, file_version="brain.Event:2")))

    def add_scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        wall_time = time.time() if wall_time is None else wall_time
        self.file.write(frame_record(encode_event(wall_time, int(step), scalar=(tag, float(value)))))

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
