"""h, g and f as residual convolutional networks, for observations laid out on a grid: board planes and images.

The flat observation vector that replay and search carry stays as it is; a ``PlaneLayout`` says where
the grid lies in it (``muzero.envs.spaces.plane_layout`` finds it). The representation reshapes the grid
to (S * C, H, W) (S stacked frames of C channels, channels last or first in the vector), multiplies it by
the layout's scale (pixels: 1/255, once, here), broadcasts every other feature of the vector (in a game,
the one-hot player to move; with stacked actions, their one-hot codes) to constant planes, and runs a
residual tower. Large images are first downsampled by stride-2 stages (EfficientZero's stack: a
stride-2 convolution, a stride-2 residual block, then average pooling; ``network.downsample``), small
ones (MinAtar's 10x10, boards) keep their full resolution. The hidden state is spatial,
(channels, h, w), min-max scaled to [0, 1] per sample, and travels to the search flattened,
(B, channels * h * w), so the tree and the learner need not know its shape.

The dynamics reads the hidden state with the action drawn as planes on the same grid:

- ``cell``: a board with one action per cell (tic-tac-toe: A = H * W): a one-hot plane of the cell;
- ``column``: a board with one action per column (Connect Four: A = W): the whole column lit;
- ``planes``: images, downsampled states, and anything else: A constant planes, the action's one all ones.

The heads reduce the state with a 1x1 convolution, then linear layers, to policy logits, a
categorical value and a categorical reward (``muzero.model.support``).

A stochastic network (``network.dynamics = "stochastic"``, see ``muzero.model.networks``) has an afterstate
tower over the state and the action planes, two heads on the afterstate (sigma over the C codes, and Q),
a dynamics tower over the afterstate and its code drawn as C constant planes, and a chance encoder: a
tower over the grids of the observations before and after the transition, stacked, and a head to C values,
beside a linear map of the same stack (``muzero.model.networks.ChanceEncoder`` says why).

Letters: B batch, D flat observation size, S stacked frames, C channels per frame, E other features, H, W grid
height and width, h, w those of the hidden state, F channels of the tower (``network.channels``), P action
planes, A actions, V and R support bins.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from muzero.config import NetworkConfig
from muzero.model.networks import DEFAULT_REWARD_SUPPORT, DEFAULT_VALUE_SUPPORT, MLP, ChanceEncoder, Network

HEAD_CHANNELS = 2  # channels the 1x1 convolution of each head keeps (AlphaZero's policy head has 2)


MAX_DOWNSAMPLE = 4  # EfficientZero's stack has four stride-2 stages (96 pixels -> 6)
FULL_RESOLUTION_SIDE = 16  # images whose smaller side is at most this keep their resolution (MinAtar: 10)
DOWNSAMPLED_SIDE = 8  # otherwise halve until the smaller side is at most this (84 -> 6, 64 -> 8)


class PlaneLayout(NamedTuple):
    """Where a grid of ``frames`` stacked (height, width, channels) frames lies inside a flat observation of
    ``size`` values: frames one after another, each channels last (or first, ``channels_first``)."""

    height: int
    width: int
    channels: int  # C, per frame
    offset: int  # index of the grid's first value in the flat vector
    size: int  # D, the whole flat vector
    frames: int = 1  # S
    channels_first: bool = False
    scale: float = 1.0  # the network multiplies the grid by this (1/255 for uint8 pixels)
    image: bool = False  # an image (muzero.envs.spaces.is_image_space), not board planes

    @property
    def cells(self) -> int:
        return self.height * self.width

    @property
    def planes(self) -> int:
        """S * C, the grid's planes."""
        return self.frames * self.channels

    @property
    def extra(self) -> int:
        """E, the values of the vector outside the grid."""
        return self.size - self.cells * self.planes


def downsample_stages(layout: PlaneLayout, setting: int | None) -> int:
    """Stride-2 stages before the representation's tower: ``setting``, or when None (auto) none for boards
    and images whose smaller side is at most 16, else enough to bring that side to 8 or less (at most 4)."""
    if setting is not None:
        return setting
    side = min(layout.height, layout.width)
    if not layout.image or side <= FULL_RESOLUTION_SIDE:
        return 0
    stages = 0
    while side > DOWNSAMPLED_SIDE and stages < MAX_DOWNSAMPLE:
        side, stages = halved(side), stages + 1
    return stages


def halved(side: int) -> int:
    """A side after one stride-2 stage (3x3 kernels, padding 1): ceil(side / 2)."""
    return (side + 1) // 2


def hidden_shape(layout: PlaneLayout, stages: int) -> tuple[int, int]:
    """(h, w) of the hidden state after ``stages`` stride-2 stages."""
    h, w = layout.height, layout.width
    for _ in range(stages):
        h, w = halved(h), halved(w)
    return h, w


def action_encoding(num_actions: int, layout: PlaneLayout, stages: int = 0) -> str:
    """How an action is drawn for the dynamics: 'cell', 'column' or 'planes' (see the module's doc)."""
    if layout.image or stages:
        return "planes"
    if num_actions == layout.cells:
        return "cell"
    if num_actions == layout.width:
        return "column"
    return "planes"


def action_planes(num_actions: int, layout: PlaneLayout, stages: int = 0) -> torch.Tensor:
    """(A, P, h, w) the planes of every action, looked up by index in the dynamics."""
    h, w = hidden_shape(layout, stages)
    encoding = action_encoding(num_actions, layout, stages)
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

    def __init__(self, in_channels: int, out_channels: int, kernel: int, norm: bool, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=not norm)
        self.norm = nn.GroupNorm(1, out_channels) if norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = F.group_norm(x, 1, self.norm.weight, self.norm.bias, self.norm.eps)
        return x


class ResidualBlock(nn.Module):
    """x -> relu(x + norm(conv(relu(norm(conv(x)))))); with a stride of 2 (and new channels) the first
    convolution downsamples and x takes a strided 1x1 convolution to the new shape."""

    def __init__(self, channels: int, norm: bool, in_channels: int | None = None, stride: int = 1) -> None:
        super().__init__()
        in_channels = channels if in_channels is None else in_channels
        self.first = ConvNorm(in_channels, channels, 3, norm, stride)
        self.second = ConvNorm(channels, channels, 3, norm)
        reshaped = stride != 1 or in_channels != channels
        self.shortcut = ConvNorm(in_channels, channels, 1, norm, stride) if reshaped else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(skip + self.second(torch.relu(self.first(x))))


class Downsample(nn.Module):
    """``stages`` stride-2 stages from ``in_channels`` to F channels (EfficientZero's stack for Atari frames):
    a stride-2 convolution to F/2 channels and a residual block; a stride-2 residual block to F and one more;
    then 3x3 average pooling with stride 2, each but the last followed by a residual block."""

    def __init__(self, in_channels: int, channels: int, stages: int, norm: bool) -> None:
        super().__init__()
        half = max(1, channels // 2)
        layers: list[nn.Module] = [ConvNorm(in_channels, half, 3, norm, stride=2), nn.ReLU(), ResidualBlock(half, norm)]
        if stages >= 2:
            layers += [ResidualBlock(channels, norm, in_channels=half, stride=2), ResidualBlock(channels, norm)]
        else:
            layers.append(ConvNorm(half, channels, 1, norm))
        for stage in range(3, stages + 1):
            layers.append(nn.AvgPool2d(3, stride=2, padding=1))
            if stage < MAX_DOWNSAMPLE:
                layers.append(ResidualBlock(channels, norm))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


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
        self.stages = downsample_stages(layout, config.downsample)
        self.hidden_height, self.hidden_width = hidden_shape(layout, self.stages)
        cells = self.hidden_height * self.hidden_width
        self.latent_size = config.channels * cells  # the flattened hidden state the search carries
        self.value_support_size = config.value_support_size or DEFAULT_VALUE_SUPPORT
        self.reward_support_size = config.reward_support_size or DEFAULT_REWARD_SUPPORT
        self.action_encoding = action_encoding(num_actions, layout, self.stages)
        planes = action_planes(num_actions, layout, self.stages)
        self.register_buffer("action_planes", planes, persistent=False)
        # Kept for the bridge and the learner, which find the network's device from it.
        self.register_buffer("action_one_hot", torch.eye(num_actions), persistent=False)
        width, norm = config.channels, config.layer_norm
        in_channels = layout.planes + layout.extra
        if self.stages:
            self.downsample_net = Downsample(in_channels, width, self.stages, norm)
            in_channels = width
        else:
            self.downsample_net = None
        self.representation_net = Tower(in_channels, width, config.blocks, norm)
        stochastic = config.dynamics == "stochastic"
        self.num_chance_codes = config.chance_codes if stochastic else 0
        self.chance_labels = stochastic and config.chance_labels == "env"
        transition_planes = self.num_chance_codes if stochastic else planes.shape[1]
        self.dynamics_net = Tower(width + transition_planes, width, config.blocks, norm)
        value_bins = 2 * self.value_support_size + 1
        self.reward_head = Head(width, cells, config.hidden_size, 1, 2 * self.reward_support_size + 1)
        self.policy_head = Head(width, cells, config.hidden_size, 0, num_actions)
        self.value_head = Head(width, cells, config.hidden_size, 1, value_bins)
        projection = config.projection_size
        self.projection_net = MLP(self.latent_size, projection, 1, projection, norm)
        self.projection_head = MLP(projection, projection, 1, projection, norm)
        heads = [self.reward_head, self.policy_head, self.value_head]
        if stochastic:
            codes = self.num_chance_codes
            self.afterstate_net = Tower(width + planes.shape[1], width, config.blocks, norm)
            self.chance_head = Head(width, cells, config.hidden_size, 0, codes)
            self.afterstate_value_head = Head(width, cells, config.hidden_size, 1, value_bins)
            # The encoder sees both observations' planes (downsampled alike) and reads the change between them.
            pair_channels = 2 * (layout.planes + layout.extra)
            downsample = Downsample(pair_channels, width, self.stages, norm) if self.stages else nn.Identity()
            tower = Tower(width if self.stages else pair_channels, width, max(1, config.blocks), norm)
            head = Head(width, cells, config.hidden_size, 1, codes)
            # A linear map of the (downsampled) pair beside the tower, as the flat network's encoder has.
            self.chance_downsample = downsample
            linear_size = (width if self.stages else pair_channels) * cells
            self.chance_encoder = ChanceEncoder(linear_size, nn.Sequential(tower, head), head.mlp.output)
            self.register_buffer("code_one_hot", torch.eye(codes), persistent=False)
            heads += [self.chance_head, self.afterstate_value_head]
        for head in heads:
            head.zero_output()

    def grid(self, observation: torch.Tensor) -> torch.Tensor:
        """(B, D) flat observations -> (B, S * C + E, H, W) float: the grid's planes (oldest frame first,
        scaled), then each other feature as a plane."""
        layout = self.layout
        batch, h, w = observation.shape[0], layout.height, layout.width
        observation = observation.float()  # uint8 pixels arrive as they are stored
        end = layout.offset + layout.cells * layout.planes
        planes = observation[:, layout.offset : end]
        if layout.channels_first:
            planes = planes.reshape(batch, layout.planes, h, w)
        else:
            planes = planes.reshape(batch, layout.frames, h, w, layout.channels).permute(0, 1, 4, 2, 3)
            planes = planes.reshape(batch, layout.planes, h, w)
        if layout.scale != 1.0:
            planes = planes * layout.scale
        if layout.extra == 0:
            return planes
        extra = torch.cat([observation[:, : layout.offset], observation[:, end:]], dim=1)
        extra = extra[:, :, None, None].expand(-1, -1, h, w)
        return torch.cat([planes, extra], dim=1)

    def _spatial(self, state: torch.Tensor) -> torch.Tensor:
        return state.view(state.shape[0], self.channels, self.hidden_height, self.hidden_width)

    def represent(self, observation: torch.Tensor) -> torch.Tensor:
        """h: (B, D) observations -> (B, F * h * w) hidden states in [0, 1]."""
        x = self.grid(observation)
        if self.downsample_net is not None:
            x = self.downsample_net(x)
        return scale_spatial_state(self.representation_net(x)).flatten(1)

    def dynamics(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, F * h * w) states and (B,) actions -> (B, F * h * w) next states and (B, R) reward logits."""
        spatial = self._spatial(state)
        out = self.dynamics_net(torch.cat([spatial, self.action_planes[action.long()]], dim=1))
        return scale_spatial_state(out).flatten(1), self.reward_head(out)

    def predict(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f: (B, F * h * w) states -> (B, A) policy logits and (B, V) value logits."""
        spatial = self._spatial(state)
        return self.policy_head(spatial), self.value_head(spatial)

    def project(self, state: torch.Tensor, with_head: bool) -> torch.Tensor:
        """(B, F * h * w) states -> (B, P) projections for the consistency loss."""
        projection = self.projection_net(state)
        return self.projection_head(projection) if with_head else projection

    def afterstate(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """phi: (B, F * h * w) states and (B,) actions -> (B, F * h * w) afterstates in [0, 1]."""
        spatial = self._spatial(state)
        out = self.afterstate_net(torch.cat([spatial, self.action_planes[action.long()]], dim=1))
        return scale_spatial_state(out).flatten(1)

    def afterstate_predict(self, afterstate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """psi: (B, F * h * w) afterstates -> (B, C) chance logits and (B, V) afterstate value logits."""
        spatial = self._spatial(afterstate)
        return self.chance_head(spatial), self.afterstate_value_head(spatial)

    def chance_dynamics(self, afterstate: torch.Tensor, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, F * h * w) afterstates and (B, C) codes -> (B, F * h * w) next states and (B, R) reward logits."""
        spatial = self._spatial(afterstate)
        planes = code[:, :, None, None].expand(-1, -1, self.hidden_height, self.hidden_width)
        out = self.dynamics_net(torch.cat([spatial, planes], dim=1))
        return scale_spatial_state(out).flatten(1), self.reward_head(out)

    def encode_chance(self, observation: torch.Tensor, next_observation: torch.Tensor) -> torch.Tensor:
        """e: (B, D) observations before and after a transition -> (B, C) encoding c^e."""
        pair = self.chance_downsample(torch.cat([self.grid(observation), self.grid(next_observation)], dim=1))
        return self.chance_encoder(pair.flatten(1), pair)
