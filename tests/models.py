"""Models with known answers for testing the search.

Every model computes each batch row from that row alone with elementwise arithmetic, so a
batch of B gives bit-for-bit the same numbers as B calls with one row: the batched search and
the one-tree reference can then be compared exactly.
"""

from __future__ import annotations

import numpy as np

from muzero.search.protocol import RecurrentOutput, RootOutput


class BanditModel:
    """A one-step bandit: action a pays arm_values[a], then the episode ends (discount 0)."""

    def __init__(self, arm_values: list[float]) -> None:
        self.arm_values = np.asarray(arm_values, np.float64)
        self.num_actions = len(arm_values)

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        batch = len(observation)
        return RootOutput(np.zeros((batch, self.num_actions)), np.zeros(batch), np.zeros((batch, 1), np.float32))

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        batch = len(action)
        return RecurrentOutput(
            reward=self.arm_values[action],
            discount=np.zeros(batch),
            prior_logits=np.zeros((batch, self.num_actions)),
            value=np.zeros(batch),
            embedding=np.zeros((batch, 1), np.float32),
        )


class TreeMDPModel:
    """A perfect model of a small deterministic MDP given as tables; the embedding is the state id.

    ``transitions[s, a]`` is the next state and ``rewards[s, a]`` the reward for reaching it.
    A transition into a ``terminal`` state has discount 0 and leaving one is absorbing (reward 0).
    The model's value is 0 everywhere, so only the search can see beyond the first reward.
    """

    def __init__(
        self, transitions: np.ndarray, rewards: np.ndarray, terminal: np.ndarray, discount: float = 1.0
    ) -> None:
        self.transitions = np.asarray(transitions)
        self.rewards = np.asarray(rewards, np.float64)
        self.terminal = np.asarray(terminal, bool)
        self.discount = discount
        self.num_actions = self.transitions.shape[1]

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        batch = len(observation)
        state = np.asarray(observation, np.float32)[:, :1]
        return RootOutput(np.zeros((batch, self.num_actions)), np.zeros(batch), state)

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        state = embedding[:, 0].astype(np.int64)
        next_state = self.transitions[state, action]
        # Leaving a terminal state is absorbing: no reward, discount 0.
        absorbing = self.terminal[state]
        reward = np.where(absorbing, 0.0, self.rewards[state, action])
        discount = np.where(absorbing | self.terminal[next_state], 0.0, self.discount)
        next_state = np.where(absorbing, state, next_state)
        batch = len(action)
        return RecurrentOutput(
            reward=reward,
            discount=discount,
            prior_logits=np.zeros((batch, self.num_actions)),
            value=np.zeros(batch),
            embedding=next_state[:, None].astype(np.float32),
        )


def _fraction(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


class RandomModel:
    """A fixed pseudo-random model: rewards, discounts, priors and values vary with state and action.

    Only +, -, *, / and floor are used, so every value is exactly rounded and identical whether a
    row is computed alone or in a batch.
    """

    def __init__(self, num_actions: int, embedding_size: int = 4, seed: int = 0, two_player: bool = False) -> None:
        rng = np.random.default_rng(seed)
        self.num_actions = num_actions
        self.sign = -1.0 if two_player else 1.0  # two players: the discount flips the value's sign every move
        self.mix = rng.uniform(1.0, 7.0, size=(num_actions, embedding_size))
        self.shift = rng.uniform(0.0, 1.0, size=(num_actions, embedding_size))
        self.prior_scale = rng.uniform(-3.0, 3.0, size=(num_actions,))

    def _heads(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = np.stack(
            [
                self.prior_scale[a] * _fraction(state[:, a % state.shape[1]] * (a + 1.7) + 0.13 * a)
                for a in range(self.num_actions)
            ],
            axis=1,
        )
        value = 2.0 * _fraction(state[:, 0] * 3.3 + state[:, 1] * 1.9) - 1.0
        return logits, value

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        state = _fraction(np.asarray(observation, np.float64) * 1.618 + 0.25)
        logits, value = self._heads(state)
        return RootOutput(logits, value, state)

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        state = _fraction(embedding * self.mix[action] + self.shift[action] + embedding * embedding * 0.7)
        logits, value = self._heads(state)
        reward = 2.0 * _fraction(state[:, 2] * 5.1 + state[:, 3]) - 1.0
        discount = self.sign * (0.5 + 0.5 * _fraction(state[:, 1] * 2.3))
        return RecurrentOutput(reward, discount, logits, value, state)
