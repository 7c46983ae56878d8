"""h, g and f as residual convolutional networks, for observations laid out on a grid (board planes).

The flat observation vector that replay and search carry stays as it is; a ``PlaneLayout`` says where
the grid lies in it. The representation reshapes the grid to (C, H, W), broadcasts every other feature
of the vector (in a game, the one-hot player to move) to constant planes, and runs a residual tower.
The hidden state is spatial, (channels, H, W), min-max scaled to [0, 1] per sample, and travels to the
search flattened, (B, channels * H * W), so the tree and the learner need not know its shape.

The dynamics reads the hidden state with the action drawn as planes on the same grid:

- ``cell``: one action per cell (tic-tac-toe: A = H * W): a one-hot plane of the cell;
- ``column``: one action per column (Connect Four: A = W): the whole column lit;
- ``planes``: anything else: A constant planes, the action's one all ones.

The heads reduce the state with a 1x1 convolution, then linear layers, to policy logits, a
categorical value and a categorical reward (``muzero.model.support``).

Letters: B batch, D flat observation size, C grid channels, E other features, H, W grid height and width,
F channels of the tower (``network.channels``), P action planes, A actions, V and R support bins.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from muzero.config import NetworkConfig
from muzero.model.networks import DEFAULT_REWARD_SUPPORT, DEFAULT_VALUE_SUPPORT, MLP, Network

HEAD_CHANNELS = 2  # channels the 1x1 convolution of each head keeps (AlphaZero's policy head has 2)


class PlaneLayout(NamedTuple):
    """Where a (height, width, channels) grid, channels last, lies inside a flat observation of ``size`` values."""

    height: int
    width: int
    channels: int
    offset: int  # index of the grid's first value in the flat vector
    size: int  # D, the whole flat vector

    @property
    def cells(self) -> int:
        return self.height * self.width

    @property
    def extra(self) -> int:
        """E, the values of the vector outside the grid."""
        return self.size - self.cells * self.channels


def action_encoding(num_actions: int, layout: PlaneLayout) -> str:
    """How an action is drawn for the dynamics: 'cell', 'column' or 'planes' (see the module's doc)."""
    if num_actions == layout.cells:
        return "cell"
    if num_actions == layout.width:
        return "column"
    return "planes"


def action_planes(num_actions: int, layout: PlaneLayout) -> torch.Tensor:
    """(A, P, H, W) the planes of every action, looked up by index in the dynamics."""
    h, w = layout.height, layout.width
    encoding = action_encoding(num_actions, layout)
    if encoding == "cell":
        return torch.eye(num_actions).view(num_actions, 1, h, w)
    if encoding == "column":
        return torch.eye(num_actions).view(num_actions, 1, 1, w).expand(num_actions, 1, h, w).contiguous()
    return torch.eye(num_actions).view(num_actions, num_actions, 1, 1).expand(-1, -1, h, w).contiguous()


def scale_spatial_state(state: torch.Tensor) -> torch.Tensor:
    """Min-max scale each sample's (F, H, W) state to [0, 1] over all its values."""
    flat = state.flatten(1)
    low, high = torch.aminmax(flat, dim=1, keepdim=True)
    return ((flat - low) / (high - low).clamp_min(1e-5)).view_as(state)


class ConvNorm(nn.Module):
    """A 3x3 (or 1x1) convolution followed, when asked, by a per-sample normalisation over (F, H, W).

    The normalisation is GroupNorm with one group: it treats every sample alone, so the network
    behaves the same in the search's batches of one and in training batches, with no train/eval modes.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, norm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=not norm)
        self.norm = nn.GroupNorm(1, out_channels) if norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = F.group_norm(x, 1, self.norm.weight, self.norm.bias, self.norm.eps)
        return x


class ResidualBlock(nn.Module):
    """x -> relu(x + norm(conv(relu(norm(conv(x))))))."""

    def __init__(self, channels: int, norm: bool) -> None:
        super().__init__()
        self.first = ConvNorm(channels, channels, 3, norm)
        self.second = ConvNorm(channels, channels, 3, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.second(torch.relu(self.first(x))))


class Tower(nn.Module):
    """A stem convolution from ``in_channels`` to F channels, then ``blocks`` residual blocks."""

    def __init__(self, in_channels: int, channels: int, blocks: int, norm: bool) -> None:
        super().__init__()
        self.stem = ConvNorm(in_channels, channels, 3, norm)
        self.blocks = nn.ModuleList(ResidualBlock(channels, norm) for _ in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return x


class Head(nn.Module):
    """(B, F, H, W) -> 1x1 convolution to 2 channels -> ReLU -> an MLP to ``out_size`` values."""

    def __init__(self, channels: int, cells: int, hidden_size: int, num_layers: int, out_size: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, HEAD_CHANNELS, 1)
        self.mlp = MLP(HEAD_CHANNELS * cells, hidden_size, num_layers, out_size, layer_norm=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.relu(self.reduce(x)).flatten(1))

    def zero_output(self) -> None:
        """Start at logits 0: a uniform policy, or a value or reward of 0."""
        with torch.no_grad():
            self.mlp.output.weight.zero_()
            self.mlp.output.bias.zero_()


class ResNetMuZeroNetwork(Network):
    """h, g and f over a grid (see the module's doc)."""

    def __init__(self, layout: PlaneLayout, num_actions: int, config: NetworkConfig) -> None:
        super().__init__()
        self.layout = layout
        self.observation_size = layout.size
        self.num_actions = num_actions
        self.channels = config.channels
        self.latent_size = config.channels * layout.cells  # the flattened hidden state the search carries
        self.value_support_size = config.value_support_size or DEFAULT_VALUE_SUPPORT
        self.reward_support_size = config.reward_support_size or DEFAULT_REWARD_SUPPORT
        self.action_encoding = action_encoding(num_actions, layout)
        planes = action_planes(num_actions, layout)
        self.register_buffer("action_planes", planes, persistent=False)
        # Kept for the bridge and the learner, which find the network's device from it.
        self.register_buffer("action_one_hot", torch.eye(num_actions), persistent=False)
        cells, width, norm = layout.cells, config.channels, config.layer_norm
        self.representation_net = Tower(layout.channels + layout.extra, width, config.blocks, norm)
        self.dynamics_net = Tower(width + planes.shape[1], width, config.blocks, norm)
        self.reward_head = Head(width, cells, config.hidden_size, 1, 2 * self.reward_support_size + 1)
        self.policy_head = Head(width, cells, config.hidden_size, 0, num_actions)
        self.value_head = Head(width, cells, config.hidden_size, 1, 2 * self.value_support_size + 1)
        projection = config.projection_size
        self.projection_net = MLP(self.latent_size, projection, 1, projection, norm)
        self.projection_head = MLP(projection, projection, 1, projection, norm)
        for head in (self.reward_head, self.policy_head, self.value_head):
            head.zero_output()

    def grid(self, observation: torch.Tensor) -> torch.Tensor:
        """(B, D) flat observations -> (B, C + E, H, W): the grid's planes, then each other feature as a plane."""
        layout = self.layout
        batch = observation.shape[0]
        end = layout.offset + layout.cells * layout.channels
        planes = observation[:, layout.offset : end].view(batch, layout.height, layout.width, layout.channels)
        planes = planes.permute(0, 3, 1, 2)
        if layout.extra == 0:
            return planes
        extra = torch.cat([observation[:, : layout.offset], observation[:, end:]], dim=1)
        extra = extra[:, :, None, None].expand(-1, -1, layout.height, layout.width)
        return torch.cat([planes, extra], dim=1)

    def _spatial(self, state: torch.Tensor) -> torch.Tensor:
        return state.view(state.shape[0], self.channels, self.layout.height, self.layout.width)

    def represent(self, observation: torch.Tensor) -> torch.Tensor:
        """h: (B, D) observations -> (B, F * H * W) hidden states in [0, 1]."""
        return scale_spatial_state(self.representation_net(self.grid(observation))).flatten(1)

    def dynamics(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, F * H * W) states and (B,) actions -> (B, F * H * W) next states and (B, R) reward logits."""
        spatial = self._spatial(state)
        out = self.dynamics_net(torch.cat([spatial, self.action_planes[action.long()]], dim=1))
        return scale_spatial_state(out).flatten(1), self.reward_head(out)

    def predict(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f: (B, F * H * W) states -> (B, A) policy logits and (B, V) value logits."""
        spatial = self._spatial(state)
        return self.policy_head(spatial), self.value_head(spatial)

    def project(self, state: torch.Tensor, with_head: bool) -> torch.Tensor:
        """(B, F * H * W) states -> (B, P) projections for the consistency loss."""
        projection = self.projection_net(state)
        return self.projection_head(projection) if with_head else projection
