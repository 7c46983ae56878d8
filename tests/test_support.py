"""The h transform, two-hot targets and scalar read-out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from muzero.model.support import (
    inverse_scale_transform,
    logits_to_scalar,
    scalar_to_two_hot,
    scale_transform,
    support_size_for,
    support_sizes,
    two_hot_to_scalar,
)


def test_inverse_undoes_the_transform_over_a_wide_range():
    x = torch.cat([torch.linspace(-1e5, 1e5, 20001, dtype=torch.float64), torch.tensor([0.0, 1e-6, -1e-6])])
    torch.testing.assert_close(inverse_scale_transform(scale_transform(x)), x, rtol=1e-9, atol=1e-9)
    y = torch.linspace(-300, 300, 6001, dtype=torch.float64)
    torch.testing.assert_close(scale_transform(inverse_scale_transform(y)), y, rtol=1e-9, atol=1e-9)


def test_transform_known_values_and_numpy_agrees():
    # h(3) = sqrt(4) - 1 + 0.003 = 1.003; h(-8) = -(3 - 1) - 0.008.
    torch.testing.assert_close(
        scale_transform(torch.tensor([3.0, -8.0, 0.0], dtype=torch.float64)),
        torch.tensor([1.003, -2.008, 0.0], dtype=torch.float64),
    )
    x = np.linspace(-50, 50, 101)
    np.testing.assert_allclose(scale_transform(x), scale_transform(torch.from_numpy(x)).numpy())
    np.testing.assert_allclose(inverse_scale_transform(scale_transform(x)), x, atol=1e-9)


@pytest.mark.parametrize("support_size", [1, 5, 10, 300])
def test_two_hot_then_read_out_returns_the_value(support_size):
    limit = float(inverse_scale_transform(torch.tensor(float(support_size), dtype=torch.float64)))
    x = torch.linspace(-limit, limit, 1001, dtype=torch.float64)
    encoded = scalar_to_two_hot(x, support_size)
    assert encoded.shape == (1001, 2 * support_size + 1)
    torch.testing.assert_close(encoded.sum(-1), torch.ones(1001, dtype=torch.float64))
    assert ((encoded > 0).sum(-1) <= 2).all()
    torch.testing.assert_close(two_hot_to_scalar(encoded, support_size), x, rtol=1e-7, atol=1e-7)
    # Logits that put that distribution through softmax read out the same value.
    torch.testing.assert_close(
        logits_to_scalar(torch.log(encoded.clamp_min(1e-300)), support_size), x, rtol=1e-6, atol=1e-6
    )


def test_values_beyond_the_support_clip_to_its_ends():
    support_size = 5
    edge = float(inverse_scale_transform(torch.tensor(5.0, dtype=torch.float64)))
    x = torch.tensor([1e4, -1e4, edge * 2], dtype=torch.float64)
    encoded = scalar_to_two_hot(x, support_size)
    assert encoded[0, -1] == 1.0 and encoded[1, 0] == 1.0 and encoded[2, -1] == 1.0
    torch.testing.assert_close(
        two_hot_to_scalar(encoded, support_size), torch.tensor([edge, -edge, edge], dtype=torch.float64)
    )


def test_integer_points_are_one_hot():
    # h(x) = 2 exactly lands on one bin.
    x = inverse_scale_transform(torch.tensor([2.0, -1.0], dtype=torch.float64))
    encoded = scalar_to_two_hot(x, 3)
    torch.testing.assert_close(encoded[0], torch.eye(7, dtype=torch.float64)[5], atol=1e-9, rtol=0)
    torch.testing.assert_close(encoded[1], torch.eye(7, dtype=torch.float64)[2], atol=1e-9, rtol=0)


def test_support_sizes_hold_the_largest_return_and_keep_cartpoles_sizes():
    assert support_sizes(1.0, 0.99, 500) == (10, 5)  # CartPole-v1: the sizes it was tuned with
    for reward, discount, limit in [(20.0, 0.99, 200), (100.0, 0.99, 1000), (1.0, 0.997, None), (3.0, 1.0, 50)]:
        value_size, reward_size = support_sizes(reward, discount, limit)
        horizon = limit if discount == 1.0 else (1 - discount ** (limit or 10**9)) / (1 - discount)
        assert float(scale_transform(np.float64(reward * horizon))) <= value_size
        assert float(scale_transform(np.float64(reward))) <= reward_size
    assert support_size_for(1e6, 5) > support_size_for(1e3, 5) > 5


def test_clipped_targets_are_counted_where_the_mask_allows():
    from muzero.training.learner import count_clipped

    edge = float(inverse_scale_transform(torch.tensor(5.0, dtype=torch.float64)))
    targets = torch.tensor([[0.0, edge * 0.99, edge * 1.5], [-edge * 2, 3.0, edge * 3]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    assert count_clipped(targets, 5, mask).item() == 2
