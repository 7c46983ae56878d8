"""Training targets for K-step unrolls, as pure functions of stored episode data.

For a sampled position t and unroll step k = 0..K, let d be the offset of the episode's last
stored row from t (its final row if the episode ended; the newest row if it is still running),
and b_k = min(k + n, d) the bootstrap offset. Then

    z_k = sum_{j=k}^{b_k - 1} gamma^(j-k) r_{t+j}  +  gamma^(b_k - k) v_{t+b_k}

where v is 0 if row t+b_k is a true terminal state and the stored (or reanalysed) value
otherwise, so truncated and running episodes bootstrap rather than pretend to end. Past a
terminal state the episode is absorbing: value and reward targets are 0 and still trained.
Past a truncation or the newest row nothing is known, so those targets are masked out.

Letters: B batch, K unroll steps, n TD steps, W = K + n reward window.
"""

from __future__ import annotations

import numpy as np


def bootstrap_offsets(steps_to_end: np.ndarray, unroll_steps: int, td_steps: int) -> np.ndarray:
    """(B, K+1) offsets b_k = min(k + n, d) of the rows whose values bootstrap each target."""
    k = np.arange(unroll_steps + 1)
    return np.minimum(k[None, :] + td_steps, steps_to_end[:, None])


def n_step_value_targets(
    rewards: np.ndarray,
    bootstrap_values: np.ndarray,
    steps_to_end: np.ndarray,
    terminal: np.ndarray,
    td_steps: int,
    discount: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Value targets z (B, K+1) and their loss mask (B, K+1).

    rewards: (B, W) reward after the action at offset j (ignored at and past the last row).
    bootstrap_values: (B, K+1) value of the row at offset b_k.
    steps_to_end: (B,) offset d of the episode's last stored row.
    terminal: (B,) whether that last row is a true end of the episode.
    """
    num_targets = bootstrap_values.shape[1]
    k = np.arange(num_targets)[None, :, None]  # (1, K+1, 1)
    j = np.arange(rewards.shape[1])[None, None, :]  # (1, 1, W)
    boot = bootstrap_offsets(steps_to_end, num_targets - 1, td_steps)  # (B, K+1)
    in_sum = (j >= k) & (j < boot[:, :, None])  # (B, K+1, W)
    weights = np.where(in_sum, discount ** np.maximum(j - k, 0).astype(np.float64), 0.0)
    returns = np.einsum("bkj,bj->bk", weights, rewards.astype(np.float64))
    at_terminal = terminal[:, None] & (boot == steps_to_end[:, None])
    boot_value = np.where(at_terminal, 0.0, bootstrap_values)
    k2 = np.arange(num_targets)[None, :]
    returns += discount ** np.maximum(boot - k2, 0).astype(np.float64) * boot_value
    inside = k2 <= steps_to_end[:, None]
    targets = np.where(inside, returns, 0.0)
    mask = inside | terminal[:, None]
    return targets.astype(np.float32), mask


def reward_targets(
    rewards: np.ndarray, steps_to_end: np.ndarray, terminal: np.ndarray, unroll_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reward targets (B, K+1) and mask (B, K+1): step k predicts the reward after the action at offset k-1.

    Step 0 has no reward to predict (mask 0). Past a terminal state the reward is 0; past a
    truncation or the newest row it is unknown (mask 0).
    """
    batch = len(steps_to_end)
    k = np.arange(1, unroll_steps + 1)[None, :]
    inside = (k - 1) < steps_to_end[:, None]  # the transition (k-1 -> k) happened inside the episode
    targets = np.zeros((batch, unroll_steps + 1), np.float32)
    targets[:, 1:] = np.where(inside, rewards[:, :unroll_steps], 0.0)
    mask = np.zeros((batch, unroll_steps + 1), bool)
    mask[:, 1:] = inside | terminal[:, None]
    return targets, mask
