"""The three learned functions of MuZero, as small multilayer perceptrons.

    representation  h(o)    -> s          (observation to hidden state)
    dynamics        g(s, a) -> (s', r)    (hidden state and action to next state and reward)
    prediction      f(s)    -> (p, v)     (hidden state to policy logits and value)

Hidden states are min-max scaled to [0, 1] per sample after h and after every g, the same
range as the one-hot action that g also reads. Rewards and values are categorical heads over
an integer support (see ``muzero.model.support``).

With ``network.dynamics = "stochastic"`` (Stochastic MuZero, Antonoglou et al. 2022) g splits in two,
around a chance outcome c, one of C codes:

    afterstate dynamics   phi(s, a)  -> as          (what the action does before chance acts)
    afterstate prediction psi(as)    -> (sigma, Q)  (a distribution over codes, the afterstate's value)
    dynamics              g(as, c)   -> (s', r)     (the code as a one-hot, in place of the action)
    chance encoder        e(o, o')   -> c^e          (training only: the code of an observed transition)

Letters: B batch, D observation size, L latent (hidden state) size, A actions, C chance codes,
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


def chance_code(encoding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C) chance encoder outputs c^e -> (the one-hot code of their argmax with a straight-through gradient,
    c^e). Forward the code is the one-hot; backward its gradient reaches c^e unchanged, as in the paper (a
    softmax in between would stop it once saturated, and the commitment loss, which pulls c^e toward the
    one-hot, saturates it: the codes then collapse to one)."""
    one_hot = F.one_hot(encoding.argmax(-1), encoding.shape[-1]).to(encoding.dtype)
    return encoding + (one_hot - encoding).detach(), encoding


class ChanceEncoder(nn.Module):
    """c^e = a linear map of the flat input plus a deeper network of it, whose output starts at zero.

    The codes must tell transitions apart from the first step: a deep network's first outputs share one
    direction (its ReLU features are alike for every input), so one code wins for nearly every
    transition, the model learns to use only that one, and the commitment loss locks it in (on a
    slippery gridworld, one code for all three outcomes). A linear map of the observations gives
    different transitions different codes at once; the deeper network then adds what it learns.
    """

    def __init__(self, in_size: int, deep: nn.Module, deep_output: nn.Linear) -> None:
        """``deep`` maps the encoder's input to C values through its last layer ``deep_output``, zeroed here."""
        super().__init__()
        self.deep = deep
        self.linear = nn.Linear(in_size, deep_output.out_features)
        with torch.no_grad():
            deep_output.weight.zero_()
            deep_output.bias.zero_()

    def forward(self, flat: torch.Tensor, deep_input: torch.Tensor | None = None) -> torch.Tensor:
        """(B, in_size) -> (B, C); ``deep_input`` is what the deeper network reads when it is not ``flat``."""
        return self.linear(flat) + self.deep(flat if deep_input is None else deep_input)


class Network(nn.Module):
    """What every kind of network offers the learner and the search: h, g, f and the consistency projection.

    States are (B, L) rows whatever their shape inside the network (the residual network's are spatial,
    ``muzero.model.resnet``). Subclasses set ``num_actions``, ``latent_size`` (L), the two support sizes
    and the ``action_one_hot`` buffer that tells where the network lives. A stochastic network
    (``num_chance_codes`` C > 0) offers the four functions of chance instead of ``dynamics``; afterstates are
    (B, L) rows too, and its ``code_one_hot`` buffer turns code indices into codes.
    """

    num_actions: int
    latent_size: int
    value_support_size: int
    reward_support_size: int
    action_one_hot: torch.Tensor
    num_chance_codes: int = 0
    chance_labels: bool = False  # stochastic: observed transitions' codes are the environment's labels, not e's

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

    def afterstate(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """phi: (B, L) states and (B,) actions -> (B, L) afterstates in [0, 1]."""
        raise NotImplementedError

    def afterstate_predict(self, afterstate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """psi: (B, L) afterstates -> (B, C) chance logits and (B, V) logits of the afterstate value Q."""
        raise NotImplementedError

    def chance_dynamics(self, afterstate: torch.Tensor, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, L) afterstates and (B, C) codes (one-hot) -> (B, L) next states and (B, R) reward logits."""
        raise NotImplementedError

    def encode_chance(self, observation: torch.Tensor, next_observation: torch.Tensor) -> torch.Tensor:
        """e: (B, D) observations before and after a transition -> (B, C) encoding c^e, whose argmax is the code."""
        raise NotImplementedError

    def step(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A transition by action from each state: ``dynamics``, or for a stochastic network through the afterstate
        and its most likely code (what a one-line read-out of the model, as ``muzero diagnose`` makes, can use)."""
        if not self.num_chance_codes:
            return self.dynamics(state, action)
        afterstate = self.afterstate(state, action)
        chance_logits, _ = self.afterstate_predict(afterstate)
        return self.chance_dynamics(afterstate, self.code_one_hot[chance_logits.argmax(-1)])


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
        stochastic = config.dynamics == "stochastic"
        self.num_chance_codes = config.chance_codes if stochastic else 0
        self.chance_labels = stochastic and config.chance_labels == "env"
        # Dynamics emits the next state and the reward logits from one output layer; it reads the action, or in
        # a stochastic network the afterstate's chance code.
        transition_inputs = self.num_chance_codes if stochastic else num_actions
        self.dynamics_net = MLP(
            config.latent_size + transition_inputs, hidden, layers, config.latent_size + reward_bins, norm
        )
        # Prediction emits policy logits and value logits from one output layer.
        self.prediction_net = MLP(config.latent_size, hidden, layers, num_actions + value_bins, norm)
        self.register_buffer("action_one_hot", torch.eye(num_actions), persistent=False)
        # Projection (both branches) and prediction head (dynamics branch only) of the temporal-consistency loss.
        width = config.projection_size
        self.projection_net = MLP(config.latent_size, width, 1, width, norm)
        self.projection_head = MLP(width, width, 1, width, norm)
        if stochastic:
            codes = self.num_chance_codes
            self.afterstate_net = MLP(config.latent_size + num_actions, hidden, layers, config.latent_size, norm)
            self.afterstate_prediction_net = MLP(config.latent_size, hidden, layers, codes + value_bins, norm)
            deep = MLP(2 * observation_size, hidden, layers, codes, norm)
            self.chance_encoder = ChanceEncoder(2 * observation_size, deep, deep.output)
            self.register_buffer("code_one_hot", torch.eye(codes), persistent=False)
        # Start with a uniform policy (and sigma) and zero value and reward, so early search is unbiased.
        with torch.no_grad():
            heads = [self.prediction_net] + ([self.afterstate_prediction_net] if stochastic else [])
            for head in heads:
                head.output.weight.zero_()
                head.output.bias.zero_()
            self.dynamics_net.output.weight[config.latent_size :].zero_()
            self.dynamics_net.output.bias[config.latent_size :].zero_()

    def _scaled(self, observation: torch.Tensor) -> torch.Tensor:
        return observation.float() * self.input_scale if self.input_scale is not None else observation

    def represent(self, observation: torch.Tensor) -> torch.Tensor:
        """h: (B, D) observations -> (B, L) hidden states in [0, 1]."""
        return scale_hidden_state(self.representation_net(self._scaled(observation)))

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

    def afterstate(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """phi: (B, L) states and (B,) actions -> (B, L) afterstates in [0, 1]."""
        one_hot = self.action_one_hot[action.long()]
        return scale_hidden_state(self.afterstate_net(torch.cat([state, one_hot], dim=-1)))

    def afterstate_predict(self, afterstate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """psi: (B, L) afterstates -> (B, C) chance logits and (B, V) afterstate value logits."""
        out = self.afterstate_prediction_net(afterstate)
        return out[:, : self.num_chance_codes], out[:, self.num_chance_codes :]

    def chance_dynamics(self, afterstate: torch.Tensor, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g: (B, L) afterstates and (B, C) codes -> (B, L) next states and (B, R) reward logits."""
        out = self.dynamics_net(torch.cat([afterstate, code], dim=-1))
        return scale_hidden_state(out[:, : self.latent_size]), out[:, self.latent_size :]

    def encode_chance(self, observation: torch.Tensor, next_observation: torch.Tensor) -> torch.Tensor:
        """e: (B, D) observations before and after a transition -> (B, C) encoding c^e."""
        pair = torch.cat([self._scaled(observation), self._scaled(next_observation)], dim=-1)
        return self.chance_encoder(pair)
