"""The three learned functions of MuZero, as small multilayer perceptrons.

    representation  h(o)    -> s          (observation to hidden state)
    dynamics        g(s, a) -> (s', r)    (hidden state and action to next state and reward)
    prediction      f(s)    -> (p, v)     (hidden state to policy logits and value)

Hidden states are min-max scaled to [0, 1] per sample after h and after every g, the same
range as the one-hot action that g also reads. Rewards and values are categorical heads over
an integer support (see ``muzero.model.support``).

Letters: B batch, D observation size, L latent (hidden state) size, A actions,
V = 2 * value_support_size + 1, R = 2 * reward_support_size + 1, P projection size.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F

from muzero.config import NetworkConfig


class MLP(nn.Module):
    """Linear -> (LayerNorm) -> ReLU hidden layers, then a linear output layer.

    The forward pass is one function over the layers' parameters rather than a chain of nested
    modules: the search calls these networks thousands of times per second on tiny batches, where
    per-module call overhead is a large share of the cost.
    """

    def __init__(self, in_size: int, hidden_size: int, num_layers: int, out_size: int, layer_norm: bool) -> None:
        super().__init__()
        sizes = [in_size] + [hidden_size] * num_layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_size) for _ in range(num_layers)) if layer_norm else None
        self.output = nn.Linear(sizes[-1], out_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, linear in enumerate(self.hidden):
            x = F.linear(x, linear.weight, linear.bias)
            if self.norms is not None:
                norm = self.norms[i]
                x = F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
            x = torch.relu(x)
        return F.linear(x, self.output.weight, self.output.bias)


def scale_hidden_state(state: torch.Tensor) -> torch.Tensor:
    """Min-max scale each sample's hidden state to [0, 1]."""
    low, high = torch.aminmax(state, dim=-1, keepdim=True)
    return (state - low) / (high - low).clamp_min(1e-5)


DEFAULT_VALUE_SUPPORT, DEFAULT_REWARD_SUPPORT = 10, 5


class Network(nn.Module):
    """What every kind of network offers the learner and the search: h, g, f and the consistency projection.

    States are (B, L) rows whatever their shape inside the network (the residual network's are spatial,
    ``muzero.model.resnet``). Subclasses set ``num_actions``, ``latent_size`` (L), the two support sizes
    and the ``action_one_hot`` buffer that tells where the network lives.
    """

    num_actions: int
    latent_size: int
    value_support_size: int
    reward_support_size: int
    action_one_hot: torch.Tensor

    def represent(self, observation: torch.Tensor) -> torch.Tensor:
        """h: (B, D) observations -> (B, L) hidden states in [0, 1]."""
        raise NotImplementedError

    def dynamics(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, L) states and (B,) actions -> (B, L) next states and (B, R) reward logits."""
        raise NotImplementedError

    def predict(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f: (B, L) states -> (B, A) policy logits and (B, V) value logits."""
        raise NotImplementedError

    def project(self, state: torch.Tensor, with_head: bool) -> torch.Tensor:
        """(B, L) states -> (B, P) projections for the consistency loss; the head is used on unrolled states."""
        raise NotImplementedError


class MuZeroNetwork(Network):
    """h, g and f for flat vector observations and a discrete action space."""

    def __init__(
        self, observation_size: int, num_actions: int, config: NetworkConfig, input_scale: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.observation_size = observation_size
        # (D,) what each observation value is multiplied by first (images read by the MLPs: pixels by 1/255).
        self.register_buffer("input_scale", input_scale, persistent=False)
        self.num_actions = num_actions
        self.latent_size = config.latent_size
        # A config whose supports are still to be chosen from the environment (the Trainer does that
        # first) gets the sizes that CartPole's choice gives.
        self.value_support_size = config.value_support_size or DEFAULT_VALUE_SUPPORT
        self.reward_support_size = config.reward_support_size or DEFAULT_REWARD_SUPPORT
        value_bins = 2 * self.value_support_size + 1
        reward_bins = 2 * self.reward_support_size + 1
        hidden, layers, norm = config.hidden_size, config.num_layers, config.layer_norm
        self.representation_net = MLP(observation_size, hidden, layers, config.latent_size, norm)
        # Dynamics emits the next state and the reward logits from one output layer.
        self.dynamics_net = MLP(
            config.latent_size + num_actions, hidden, layers, config.latent_size + reward_bins, norm
        )
        # Prediction emits policy logits and value logits from one output layer.
        self.prediction_net = MLP(config.latent_size, hidden, layers, num_actions + value_bins, norm)
        self.register_buffer("action_one_hot", torch.eye(num_actions), persistent=False)
        # Projection (both branches) and prediction head (dynamics branch only) of the temporal-consistency loss.
        width = config.projection_size
        self.projection_net = MLP(config.latent_size, width, 1, width, norm)
        self.projection_head = MLP(width, width, 1, width, norm)
        # Start with a uniform policy and zero value and reward, so early search is unbiased.
        with torch.no_grad():
            self.prediction_net.output.weight.zero_()
            self.prediction_net.output.bias.zero_()
            self.dynamics_net.output.weight[config.latent_size :].zero_()
            self.dynamics_net.output.bias[config.latent_size :].zero_()

    def represent(self, observation: torch.Tensor) -> torch.Tensor:
        """h: (B, D) observations -> (B, L) hidden states in [0, 1]."""
        if self.input_scale is not None:
            observation = observation.float() * self.input_scale
        return scale_hidden_state(self.representation_net(observation))

    def dynamics(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, L) states and (B,) actions -> (B, L) next states and (B, R) reward logits."""
        one_hot = self.action_one_hot[action.long()]  # a row lookup: cheaper than one_hot() in the search
        out = self.dynamics_net(torch.cat([state, one_hot], dim=-1))
        next_state = scale_hidden_state(out[:, : self.latent_size])
        return next_state, out[:, self.latent_size :]

    def predict(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f: (B, L) states -> (B, A) policy logits and (B, V) value logits."""
        out = self.prediction_net(state)
        return out[:, : self.num_actions], out[:, self.num_actions :]

    def project(self, state: torch.Tensor, with_head: bool) -> torch.Tensor:
        """(B, L) states -> (B, P) projections for the consistency loss; the head is used on unrolled states."""
        projection = self.projection_net(state)
        return self.projection_head(projection) if with_head else projection
