"""The bridge between the PyTorch networks and the NumPy search.

``NetworkModel`` gives the search the two functions it needs, with numpy inputs and typed
numpy outputs; values and rewards are read out of their categorical heads here, so the
search only ever sees scalars. The learned model has no notion of termination: past an
episode's end it is trained towards absorbing states (reward 0, value 0), so its per-transition
discount is always gamma; in a two-player game -gamma (values are the mover's, and the mover
changes every move; see ``muzero.envs.games.aec.signed_discount``).
"""

from __future__ import annotations

import numpy as np
import torch

from muzero.model.networks import Network
from muzero.model.support import expected_support, inverse_scale_transform
from muzero.search.protocol import RecurrentOutput, RootOutput


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """A tensor's values as numpy (copied to the CPU first when the network runs elsewhere)."""
    return x.numpy() if x.device.type == "cpu" else x.cpu().numpy()


class NetworkModel:
    """Search-facing view of a ``Network`` (no gradients; numpy in and out, on the network's device inside)."""

    def __init__(self, network: Network, discount: float) -> None:
        self.network = network
        self.discount = discount

    @property
    def device(self) -> torch.device:
        return self.network.action_one_hot.device

    def initial_inference(self, observation: np.ndarray) -> RootOutput:
        with torch.inference_mode():
            obs = torch.as_tensor(np.asarray(observation, np.float32), device=self.device)
            state = self.network.represent(obs)
            policy_logits, value_logits = self.network.predict(state)
            value = expected_support(value_logits, self.network.value_support_size)
            return RootOutput(
                prior_logits=to_numpy(policy_logits),
                value=inverse_scale_transform(to_numpy(value)),
                embedding=to_numpy(state),
            )

    def recurrent_inference(self, embedding: np.ndarray, action: np.ndarray) -> RecurrentOutput:
        with torch.inference_mode():
            device = self.device
            state, reward_logits = self.network.dynamics(
                torch.from_numpy(embedding).to(device), torch.from_numpy(action).to(device)
            )
            policy_logits, value_logits = self.network.predict(state)
            # The h^-1 read-out runs in numpy: on these tiny arrays its ops cost a third of torch's.
            reward = inverse_scale_transform(
                to_numpy(expected_support(reward_logits, self.network.reward_support_size))
            )
            value = inverse_scale_transform(to_numpy(expected_support(value_logits, self.network.value_support_size)))
            discount = np.full(len(action), self.discount)
            return RecurrentOutput(
                reward=reward,
                discount=discount,
                prior_logits=to_numpy(policy_logits),
                value=value,
                embedding=to_numpy(state),
            )

    def value(self, observation: np.ndarray) -> np.ndarray:
        """(B,) the network's value of each observation (used for bootstrapping and final states)."""
        return self.initial_inference(observation).value
