"""What a run builds from its config to plan with: the networks (``build_network``), the per-move
discount, and the model the search sees (``build_model``): the learned one, or the game's true rules
around the same network.

``network.dynamics = "stochastic"`` gives the search a ``StochasticNetworkModel``, with chance nodes.
``search.model = "true"`` (AlphaZero's search, as a control) replaces the learned dynamics inside
the search by the game's rules (``muzero.model.true_rules``); the networks, their training and
their targets are unchanged. Acting, evaluation, Reanalyse and a loaded agent all get their
model through ``search_model``, so one config key switches every search of a run.
"""

from __future__ import annotations

import gymnasium as gym
import torch

from muzero.config import Config
from muzero.envs.games.aec import signed_discount
from muzero.envs.games.rules import RULES, rules_for
from muzero.envs.spaces import plane_layout
from muzero.errors import ConfigError
from muzero.model.bridge import NetworkModel, StochasticNetworkModel
from muzero.model.networks import MuZeroNetwork, Network
from muzero.model.resnet import PlaneLayout, ResNetMuZeroNetwork
from muzero.model.true_rules import TrueRulesModel


def search_model(config: Config, model: NetworkModel) -> NetworkModel:
    """``model``, or with ``search.model = "true"`` the game's rules around its network; refused (one line)
    for an environment whose rules muzero does not know."""
    if config.search.model == "learned":
        return model
    if config.network.dynamics == "stochastic":
        raise ConfigError(
            "search.model = 'true' plans with the game's rules, which have no chance to model: "
            "use network.dynamics = 'deterministic' with it"
        )
    rules = rules_for(config.env.id)
    if rules is None:
        raise ConfigError(
            f"search.model = 'true' needs a game whose rules muzero knows ({', '.join(RULES)}); "
            f"{config.env.id} has none: use search.model = 'learned'"
        )
    if model.network.observation_size != rules.observation_size:
        raise ConfigError(
            f"search.model = 'true': {config.env.id}'s rules read {rules.observation_size}-wide observations, "
            f"the network {model.network.observation_size}-wide ones"
        )
    return TrueRulesModel(model.network, model.discount, rules)


def build_network(config: Config, observation_space: gym.Space, num_actions: int) -> Network:
    """The networks that ``network.kind`` asks for: 'auto' takes the residual network when the observation has
    a grid of planes (``plane_layout``), else the MLPs, which flat observations always get."""
    kind = config.network.kind
    env = config.env
    layout = plane_layout(observation_space, env.frame_stack, env.image_channels, env.stack_actions)
    if kind == "resnet" and layout is None:
        raise ValueError(
            f"network.kind = 'resnet' needs observations with a grid of planes (board planes or an image: "
            f"muzero.envs.spaces); this environment's are {observation_space}: use network.kind = 'mlp'"
        )
    if kind == "mlp" or layout is None:
        size = int(gym.spaces.flatdim(observation_space))
        return MuZeroNetwork(size, num_actions, config.network, input_scale(layout))
    return ResNetMuZeroNetwork(layout, num_actions, config.network)


def input_scale(layout: PlaneLayout | None) -> torch.Tensor | None:
    """(D,) the scale of each flat value when the MLPs read an image (its pixels scaled, the rest as it is), else
    None: what the residual network does inside ``grid``."""
    if layout is None or layout.scale == 1.0:
        return None
    scale = torch.ones(layout.size)
    scale[layout.offset : layout.offset + layout.cells * layout.planes] = layout.scale
    return scale


def build_model(
    config: Config, observation_space: gym.Space, num_actions: int, two_player: bool, device: torch.device
) -> NetworkModel:
    """The networks and the search-facing model over them: the one place the per-move discount is decided.

    Two-player games: values and rewards are the mover's, so the search and every target discount by
    -gamma (``signed_discount``). Every consumer (search, n-step targets, Reanalyse, diagnostics, a loaded
    agent) reads it from the returned ``model.discount``.
    """
    network = build_network(config, observation_space, num_actions).to(device)
    discount = signed_discount(config.discount, two_player)
    model_class = StochasticNetworkModel if network.num_chance_codes else NetworkModel
    return search_model(config, model_class(network, discount))
