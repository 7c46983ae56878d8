"""Categorical value and reward heads: the h transform, two-hot targets and scalar read-out.

Values and rewards span very different scales across environments. MuZero squashes a
scalar x with h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps*x, represents h(x) as a two-hot
distribution over the integers -S..S (the support), trains with cross-entropy, and reads a
scalar back as h^-1 of the expectation under the softmax.

Values whose transform falls outside [-S, S] are clipped to the edge of the support: the
target puts all its mass on the end bin, so such a value is read back as h^-1(+-S). The learner
counts such targets (a metric, and a warning), and ``support_sizes`` picks S from the scale of an
environment's rewards and its episode limit so that they do not happen.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

EPSILON = 1e-3
Array = TypeVar("Array", torch.Tensor, np.ndarray)


def _xp(x: Array):
    """The array library of x, so one formula serves torch tensors (training) and numpy arrays (search)."""
    return torch if isinstance(x, torch.Tensor) else np


def scale_transform(x: Array, eps: float = EPSILON) -> Array:
    """h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps*x."""
    xp = _xp(x)
    return xp.sign(x) * (xp.sqrt(xp.abs(x) + 1.0) - 1.0) + eps * x


def inverse_scale_transform(y: Array, eps: float = EPSILON) -> Array:
    """h^-1(y), the closed form of the inverse of ``scale_transform``."""
    xp = _xp(y)
    root = (xp.sqrt(1.0 + 4.0 * eps * (xp.abs(y) + 1.0 + eps)) - 1.0) / (2.0 * eps)
    return xp.sign(y) * (root * root - 1.0)


def scalar_to_two_hot(x: torch.Tensor, support_size: int) -> torch.Tensor:
    """Two-hot encoding of h(x) over the support -S..S; shape (*x.shape, 2S + 1).

    The mass splits between the two neighbouring integers so that the expectation equals
    h(x) exactly; values beyond the support are clipped to its ends.
    """
    y = scale_transform(x).clamp(-support_size, support_size)
    floor = y.floor()
    upper_weight = y - floor
    lower_index = (floor + support_size).long()
    upper_index = (lower_index + 1).clamp(max=2 * support_size)
    target = torch.zeros(*x.shape, 2 * support_size + 1, dtype=x.dtype, device=x.device)
    target.scatter_(-1, lower_index.unsqueeze(-1), (1.0 - upper_weight).unsqueeze(-1))
    target.scatter_add_(-1, upper_index.unsqueeze(-1), upper_weight.unsqueeze(-1))
    return target


def expected_support(logits: torch.Tensor, support_size: int) -> torch.Tensor:
    """E[support] under softmax(logits): the read-out in transformed (h) space; shape drops the last axis."""
    support = torch.arange(-support_size, support_size + 1, dtype=logits.dtype, device=logits.device)
    return torch.softmax(logits, dim=-1) @ support


def two_hot_to_scalar(probabilities: torch.Tensor, support_size: int) -> torch.Tensor:
    """h^-1 of the expectation of a distribution over the support; shape drops the last axis."""
    support = torch.arange(-support_size, support_size + 1, dtype=probabilities.dtype, device=probabilities.device)
    return inverse_scale_transform(probabilities @ support)


def logits_to_scalar(logits: torch.Tensor, support_size: int) -> torch.Tensor:
    """Scalar read-out of a categorical head: h^-1(E_softmax(logits)[support])."""
    return inverse_scale_transform(expected_support(logits, support_size))


def support_size_for(bound: float, minimum: int) -> int:
    """The smallest S >= ``minimum`` whose support -S..S holds h(x) for every |x| <= ``bound``."""
    return max(minimum, int(np.ceil(scale_transform(np.float64(abs(bound))))))


def support_sizes(max_abs_reward: float, discount: float, max_episode_steps: int | None) -> tuple[int, int]:
    """(value S, reward S) for rewards of magnitude at most ``max_abs_reward``.

    A discounted return is at most R (1 - gamma^H) / (1 - gamma) in magnitude over an episode of H
    steps (R / (1 - gamma) without a limit). The minimum sizes (10 and 5) are the ones tuned on
    CartPole, which these bounds reproduce there.
    """
    reward = max(float(max_abs_reward), 1e-6)
    if discount >= 1.0:
        horizon = float(max_episode_steps) if max_episode_steps is not None else 1000.0
    elif max_episode_steps is None:
        horizon = 1.0 / (1.0 - discount)
    else:
        horizon = (1.0 - discount**max_episode_steps) / (1.0 - discount)
    return support_size_for(reward * horizon, 10), support_size_for(reward, 5)
