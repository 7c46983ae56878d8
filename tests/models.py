"""Models with known answers for testing the search.

Every model computes each batch row from that row alone with elementwise arithmetic, so a
batch of B gives bit-for-bit the same numbers as B calls with one row: the batched search and
the one-tree reference can then be compared exactly.
"""

from __future__ import annotations

import numpy as np

from muzero.search.protocol import AfterstateOutput, RecurrentOutput, RootOutput


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


class RandomStochasticModel(RandomModel):
    """``RandomModel`` with chance: (s, a) -> afterstate -> code -> state, every part pseudo-random and exactly
    rounded, so that the batched search and the reference can be compared bit for bit."""

    def __init__(
        self, num_actions: int, num_codes: int, embedding_size: int = 4, seed: int = 0, two_player: bool = False
    ) -> None:
        super().__init__(num_actions, embedding_size, seed, two_player)
        rng = np.random.default_rng(seed + 100)
        self.num_chance_codes = num_codes
        self.code_mix = rng.uniform(1.0, 7.0, size=(num_codes, embedding_size))
        self.code_shift = rng.uniform(0.0, 1.0, size=(num_codes, embedding_size))
        self.code_scale = rng.uniform(-3.0, 3.0, size=(num_codes,))

    def afterstate_inference(self, embedding: np.ndarray, action: np.ndarray) -> AfterstateOutput:
        afterstate = _fraction(embedding * self.mix[action] + self.shift[action])
        logits = np.stack(
            [
                self.code_scale[c] * _fraction(afterstate[:, c % afterstate.shape[1]] * (c + 2.3) + 0.29 * c)
                for c in range(self.num_chance_codes)
            ],
            axis=1,
        )
        value = 2.0 * _fraction(afterstate[:, 1] * 2.7 + afterstate[:, 3] * 1.3) - 1.0
        return AfterstateOutput(logits, value, afterstate)

    def chance_inference(self, afterstate: np.ndarray, code: np.ndarray) -> RecurrentOutput:
        state = _fraction(afterstate * self.code_mix[code] + self.code_shift[code] + afterstate * afterstate * 0.7)
        logits, value = self._heads(state)
        reward = 2.0 * _fraction(state[:, 2] * 5.1 + state[:, 3]) - 1.0
        discount = self.sign * (0.5 + 0.5 * _fraction(state[:, 1] * 2.3))
        return RecurrentOutput(reward, discount, logits, value, state)


class ChanceMDPModel:
    """A perfect model of a small MDP with chance, given as tables; embeddings hold a state or afterstate id.

    Taking action a in state s leads to afterstate ``afterstates[s, a]``; from afterstate x, code c happens
    with probability ``chance[x, c]`` and leads to ``next_states[x, c]`` with reward ``rewards[x, c]``. A
    transition into a ``terminal`` state has discount 0, and leaving one is absorbing. Values are 0
    everywhere, so only the search sees the rewards beyond the first transition: its root Q values must
    converge to expectimax.
    """

    def __init__(
        self,
        afterstates: np.ndarray,
        chance: np.ndarray,
        next_states: np.ndarray,
        rewards: np.ndarray,
        terminal: np.ndarray,
        discount: float = 1.0,
    ) -> None:
        self.afterstates = np.asarray(afterstates)
        self.chance = np.asarray(chance, np.float64)
        self.next_states = np.asarray(next_states)
        self.rewards = np.asarray(rewards, np.float64)
        self.terminal = np.asarray(terminal, bool)
        self.discount = discount
        self.num_actions = self.afterstates.shape[1]
        self.num_chance_codes = self.chance.shape[1]

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        batch = len(observation)
        return RootOutput(np.zeros((batch, self.num_actions)), np.zeros(batch), np.asarray(observation)[:, :1])

    def afterstate_inference(self, embedding: np.ndarray, action: np.ndarray) -> AfterstateOutput:
        state = embedding[:, 0].astype(np.int64)
        afterstate = np.where(self.terminal[state], -1.0, self.afterstates[state, action])  # -1: absorbing
        with np.errstate(divide="ignore"):
            logits = np.log(self.chance[np.maximum(afterstate, 0).astype(np.int64)])
        logits[afterstate < 0] = np.where(np.arange(self.num_chance_codes) == 0, 0.0, -np.inf)
        return AfterstateOutput(logits, np.zeros(len(action)), afterstate[:, None].astype(np.float32))

    def chance_inference(self, afterstate: np.ndarray, code: np.ndarray) -> RecurrentOutput:
        x = afterstate[:, 0].astype(np.int64)
        absorbing = x < 0
        safe = np.maximum(x, 0)
        next_state = self.next_states[safe, code]
        reward = np.where(absorbing, 0.0, self.rewards[safe, code])
        discount = np.where(absorbing | self.terminal[next_state], 0.0, self.discount)
        batch = len(code)
        return RecurrentOutput(
            reward,
            discount,
            np.zeros((batch, self.num_actions)),
            np.zeros(batch),
            next_state[:, None].astype(np.float32),
        )
