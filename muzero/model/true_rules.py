"""AlphaZero's search as a control: nodes expanded with a game's true rules instead of the learned dynamics.

``TrueRulesModel`` is the search-facing view of the same ``Network`` as ``NetworkModel``, with
one difference: below the root, the next position comes from the game's rules, not from g(s, a).
Its embedding is the position itself, the flat observation plus a terminal flag, so every node
is a real position; the prediction network is evaluated on represent(observation) of each new
position, exactly as at the root. Training, targets and the networks are untouched, so comparing
``search.model = "true"`` with ``"learned"`` isolates what the learned dynamics cost the search.

    reward    from the rules (+1 for the mover's winning move); 0 for any move from a terminal position
    value     the network's, except 0 at a terminal position (nothing more can happen there)
    discount  the model's per-move discount (-gamma in a two-player game); 0 into a terminal position
    prior     the network's logits, illegal moves' set to ``ILLEGAL_LOGIT`` (prior exactly 0 after the
              softmax, yet finite, so no arithmetic on them gives NaN)

The search restricts only the root to legal moves; a deeper illegal move has prior 0, but pUCT may
still pick it when every legal child looks bad. Choosing one ends the game as a loss for its mover
(reward ``ILLEGAL_MOVE_REWARD``, terminal), so the search learns to avoid it rather than back up a
position the game cannot reach.

This module knows nothing of particular games: ``Rules`` is what it needs of one, and
``muzero.envs.games.rules`` has the games that provide it.

Letters: B batch, D flat observation size, A actions; the embedding is (B, D + 1).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from muzero.model.bridge import NetworkModel
from muzero.model.networks import Network
from muzero.search.protocol import RecurrentOutput, RootOutput

ILLEGAL_LOGIT = -1e9
ILLEGAL_MOVE_REWARD = -1.0


class Rules(Protocol):
    """A game's rules over batches of flat observations (see ``muzero.envs.games.rules.GameRules``)."""

    def legal(self, observations: np.ndarray) -> np.ndarray:
        """(B, D) -> (B, A) bool."""
        ...

    def terminal(self, observations: np.ndarray) -> np.ndarray:
        """(B, D) -> (B,) bool."""
        ...

    def step(self, observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B, D), (B,) -> next observations (B, D), the mover's reward (B,), terminal (B,)."""
        ...


class TrueRulesModel(NetworkModel):
    """A ``NetworkModel`` whose recurrent step plays the game's rules (see the module's doc)."""

    def __init__(self, network: Network, discount: float, rules: Rules) -> None:
        super().__init__(network, discount)
        self.rules = rules

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        observation = np.asarray(observation, np.float32)
        return self._evaluate(observation, self.rules.terminal(observation))

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        observation, was_over = embedding[:, :-1], embedding[:, -1] > 0.5  # (B, D), (B,)
        action = np.asarray(action, np.int64)
        legal = self.rules.legal(observation)[np.arange(len(action)), action]  # (B,)
        next_observation, reward, terminal = self.rules.step(observation, action)
        played = legal & ~was_over
        reward = np.where(was_over, 0.0, np.where(legal, reward, ILLEGAL_MOVE_REWARD))
        over = was_over | ~legal | np.asarray(terminal, bool)
        # A terminal position is absorbing: moves from it (and illegal ones) leave it where it is.
        next_observation = np.where(played[:, None], next_observation, observation).astype(np.float32)
        root = self._evaluate(next_observation, over)
        return RecurrentOutput(
            reward=reward,
            discount=np.where(over, 0.0, self.discount),
            prior_logits=root.prior_logits,
            value=root.value,
            embedding=root.embedding,
        )

    def _evaluate(self, observation: np.ndarray, over: np.ndarray) -> RootOutput:
        """The network's prior and value of real positions (B, D), corrected by the rules: illegal moves'
        logits pushed down, value 0 where the game is ``over`` (B,); the embedding is the position and flag."""
        root = super().initial_inference(observation)
        logits = np.where(self.rules.legal(observation), root.prior_logits, ILLEGAL_LOGIT)
        value = np.where(over, 0.0, root.value)
        embedding = np.concatenate([observation, over[:, None]], axis=1).astype(np.float32)
        return RootOutput(prior_logits=logits, value=value, embedding=embedding)
