"""Which model the search plans with: the learned one, or the game's true rules around the same network.

``search.model = "true"`` (AlphaZero's search, as a control) replaces the learned dynamics inside
the search by the game's rules (``muzero.model.true_rules``); the networks, their training and
their targets are unchanged. Acting, evaluation, Reanalyse and a loaded agent all get their
model through ``search_model``, so one config key switches every search of a run.
"""

from __future__ import annotations

from muzero.config import Config
from muzero.envs.games.rules import RULES, rules_for
from muzero.errors import ConfigError
from muzero.model.bridge import NetworkModel
from muzero.model.true_rules import TrueRulesModel


def search_model(config: Config, model: NetworkModel) -> NetworkModel:
    """``model``, or with ``search.model = "true"`` the game's rules around its network; refused (one line)
    for an environment whose rules muzero does not know."""
    if config.search.model == "learned":
        return model
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
