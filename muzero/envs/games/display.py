"""Boards of placement games (planes [..., 0] first player, [..., 1] second player) as text and images."""

from __future__ import annotations

import numpy as np

MARKS = ("X", "O")
COLOURS = ((220, 50, 47), (38, 139, 210))  # first player red, second blue


def board_text(board: np.ndarray) -> str:
    """Rows of ``X``, ``O`` and ``.``; a one-row board is a line. Columns are numbered for games played by column."""
    planes = np.asarray(board)
    if planes.ndim == 2:  # (cells, 2)
        planes = planes[None]
    rows = []
    for r in range(planes.shape[0]):
        cells = []
        for c in range(planes.shape[1]):
            cells.append(MARKS[0] if planes[r, c, 0] else MARKS[1] if planes[r, c, 1] else ".")
        rows.append(" ".join(cells))
    return "\n".join(rows)


def board_image(board: np.ndarray, cell: int = 48) -> np.ndarray:
    """(H, W, 3) uint8 picture of the board: a grid with the first player's pieces red, the second's blue."""
    from PIL import Image, ImageDraw

    planes = np.asarray(board)
    if planes.ndim == 2:
        planes = planes[None]
    rows, cols = planes.shape[:2]
    image = Image.new("RGB", (cols * cell + 1, rows * cell + 1), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for r in range(rows + 1):
        draw.line([(0, r * cell), (cols * cell, r * cell)], fill=(120, 120, 120))
    for c in range(cols + 1):
        draw.line([(c * cell, 0), (c * cell, rows * cell)], fill=(120, 120, 120))
    pad = cell // 6
    for r in range(rows):
        for c in range(cols):
            for player in (0, 1):
                if planes[r, c, player]:
                    box = [c * cell + pad, r * cell + pad, (c + 1) * cell - pad, (r + 1) * cell - pad]
                    draw.ellipse(box, fill=COLOURS[player])
    return np.asarray(image)
