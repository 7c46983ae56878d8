"""The bridge between the PyTorch networks and the NumPy search.

``NetworkModel`` gives the search the two functions it needs, with numpy inputs and typed
numpy outputs; values and rewards are read out of their categorical heads here, so the
search only ever sees scalars. The learned model has no notion of termination: past an
episode's end it is trained towards absorbing states (reward 0, value 0), so its per-transition
discount is always gamma.
"""

from __future__ import annotations

import numpy as np
import torch

from muzero.model.networks import MuZeroNetwork
from muzero.model.support import expected_support, inverse_scale_transform
from muzero.search.mcts import RecurrentOutput, RootOutput


class NetworkModel:
    """Search-facing view of a ``MuZeroNetwork`` (no gradients, CPU numpy in and out)."""

    def __init__(self, network: MuZeroNetwork, discount: float) -> None:
        self.network = network
        self.discount = discount

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        with torch.inference_mode():
            obs = torch.as_tensor(np.asarray(observation, np.float32))
            state = self.network.represent(obs)
            policy_logits, value_logits = self.network.predict(state)
            value = expected_support(value_logits, self.network.value_support_size)
            return RootOutput(
                prior_logits=policy_logits.numpy(),
                value=inverse_scale_transform(value.numpy()),
                embedding=state.numpy(),
            )

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        with torch.inference_mode():
            state, reward_logits = self.network.dynamics(torch.from_numpy(embedding), torch.from_numpy(action))
            policy_logits, value_logits = self.network.predict(state)
            # The h^-1 read-out runs in numpy: on these tiny arrays its ops cost a third of torch's.
            reward = inverse_scale_transform(expected_support(reward_logits, self.network.reward_support_size).numpy())
            value = inverse_scale_transform(expected_support(value_logits, self.network.value_support_size).numpy())
            discount = np.full(len(action), self.discount)
            return RecurrentOutput(
                reward=reward,
                discount=discount,
                prior_logits=policy_logits.numpy(),
                value=value,
                embedding=state.numpy(),
            )

    def value(self, observation: np.ndarray) -> np.ndarray:
        """(B,) the network's value of each observation (used for bootstrapping and final states)."""
        return self.initial_inference(observation).value
