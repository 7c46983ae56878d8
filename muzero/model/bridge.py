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
from muzero.search.protocol import AfterstateOutput, RecurrentOutput, RootOutput


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
        """One transition (``Network.step``: a stochastic network's goes through the afterstate and its most likely
        code, for read-outs of the model; its search expands afterstates and codes as nodes of their own)."""
        with torch.inference_mode():
            device = self.device
            state, reward_logits = self.network.step(
                torch.from_numpy(embedding).to(device), torch.from_numpy(action).to(device)
            )
            return self._step_output(state, reward_logits)

    def _step_output(self, state: torch.Tensor, reward_logits: torch.Tensor) -> RecurrentOutput:
        """The search's view of a transition that reached ``state`` with ``reward_logits``."""
        network = self.network
        policy_logits, value_logits = network.predict(state)
        # The h^-1 read-out runs in numpy: on these tiny arrays its ops cost a third of torch's.
        reward = inverse_scale_transform(to_numpy(expected_support(reward_logits, network.reward_support_size)))
        value = inverse_scale_transform(to_numpy(expected_support(value_logits, network.value_support_size)))
        return RecurrentOutput(
            reward=reward,
            discount=np.full(len(reward), self.discount),
            prior_logits=to_numpy(policy_logits),
            value=value,
            embedding=to_numpy(state),
        )

    def value(self, observation: np.ndarray) -> np.ndarray:
        """(B,) the network's value of each observation (used for bootstrapping and final states)."""
        return self.initial_inference(observation).value


class StochasticNetworkModel(NetworkModel):
    """Search-facing view of a stochastic ``Network`` (a ``muzero.search.protocol.StochasticModel``): transitions
    pass through an afterstate, which carries no reward and discount 1, and a chance code, which carries the
    reward and the per-move discount."""

    def __init__(self, network: Network, discount: float) -> None:
        super().__init__(network, discount)
        self.num_chance_codes = network.num_chance_codes

    def afterstate_inference(self, embedding: np.ndarray, action: np.ndarray) -> AfterstateOutput:
        with torch.inference_mode():
            device = self.device
            afterstate = self.network.afterstate(
                torch.from_numpy(embedding).to(device), torch.from_numpy(action).to(device)
            )
            chance_logits, value_logits = self.network.afterstate_predict(afterstate)
            value = expected_support(value_logits, self.network.value_support_size)
            return AfterstateOutput(
                chance_logits=to_numpy(chance_logits),
                value=inverse_scale_transform(to_numpy(value)),
                embedding=to_numpy(afterstate),
            )

    def observed_codes(self, observation: np.ndarray, next_observation: np.ndarray) -> np.ndarray:
        """(B,) the chance encoder's code of each observed transition (what training unrolls with)."""
        with torch.inference_mode():
            device = self.device
            encoding = self.network.encode_chance(
                torch.as_tensor(np.asarray(observation, np.float32), device=device),
                torch.as_tensor(np.asarray(next_observation, np.float32), device=device),
            )
            return to_numpy(encoding.argmax(-1))

    def chance_inference(self, afterstate: np.ndarray, code: np.ndarray) -> RecurrentOutput:
        with torch.inference_mode():
            network = self.network
            codes = network.code_one_hot[torch.from_numpy(code).to(self.device).long()]
            state, reward_logits = network.chance_dynamics(torch.from_numpy(afterstate).to(self.device), codes)
            return self._step_output(state, reward_logits)
