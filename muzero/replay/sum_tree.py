"""A sum tree for prioritised sampling: O(log N) updates and draws, vectorised over a batch.

Leaves hold priorities; each inner node holds the sum of its two children, so the root is the
total and a draw u in [0, total) descends to the leaf whose cumulative range contains u.
"""

from __future__ import annotations

import numpy as np


class SumTree:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 1 << max(1, (capacity - 1).bit_length())  # leaves, a power of two
        self.nodes = np.zeros(2 * self.size)  # nodes[1] is the root; leaves start at self.size

    @property
    def total(self) -> float:
        return float(self.nodes[1])

    def get(self, indices: np.ndarray) -> np.ndarray:
        return self.nodes[np.asarray(indices) + self.size]

    def update(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set the leaves at ``indices``; parents are recomputed from their children, so repeats are harmless."""
        nodes = np.asarray(indices, np.int64) + self.size
        self.nodes[nodes] = priorities
        while nodes[0] > 1:
            nodes = np.unique(nodes // 2)
            self.nodes[nodes] = self.nodes[2 * nodes] + self.nodes[2 * nodes + 1]

    def find(self, targets: np.ndarray) -> np.ndarray:
        """Leaf index for each cumulative target in [0, total)."""
        targets = np.minimum(np.asarray(targets, np.float64), np.nextafter(self.total, 0.0))
        nodes = np.ones(len(targets), np.int64)
        while nodes[0] < self.size:
            left = self.nodes[2 * nodes]
            go_right = targets >= left
            targets = np.where(go_right, targets - left, targets)
            nodes = 2 * nodes + go_right
        return nodes - self.size

    def sample(
        self, batch_size: int, rng: np.random.Generator, low: float = 0.0, high: float | None = None
    ) -> np.ndarray:
        """Stratified draws: one uniform draw in each of ``batch_size`` equal slices of [low, high).

        The default range is the whole total; a sub-range of the cumulative mass restricts the draws
        to a contiguous block of leaves (the replay buffer uses it to sample its end reservoir apart).
        """
        if self.total <= 0:
            raise ValueError("cannot sample from a sum tree whose priorities are all zero")
        high = self.total if high is None else high
        edges = low + (np.arange(batch_size) + rng.random(batch_size)) * ((high - low) / batch_size)
        return self.find(edges)
