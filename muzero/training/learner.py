"""Training: unroll the model K steps along real actions and fit value, reward and policy.

    s_0 = h(o_t);   s_k, r_k = g(s_{k-1}, a_{t+k-1});   p_k, v_k = f(s_k)

    loss = sum_k  w_k * [ c_v * CE(v_k, z_k) + CE(r_k, u_k) + CE(p_k, pi_k) ]

with w_0 = 1 and w_k = 1/K for k >= 1, cross-entropies against two-hot targets on the
categorical supports, the gradient entering each dynamics step scaled by 1/2 (so the model is
not pulled harder by long unrolls), importance weights from prioritised replay, L2 weight
decay, gradient clipping and a warm-up then step-decay learning-rate schedule.

With stochastic dynamics (Stochastic MuZero) each unrolled step passes through an afterstate and the
code the chance encoder gives the observed transition, c_{k+1} = e(o_{t+k}, o_{t+k+1}) (one-hot, with a
straight-through gradient), and three terms join, each weighted 1/K (learner.*_loss_weight):

    as_k = phi(s_k, a_{t+k});  sigma_k, Q_k = psi(as_k);  s_{k+1}, r_{k+1} = g(as_k, c_{k+1})
    c_q * CE(Q_k, z_k) + c_sigma * CE(sigma_k, c_{k+1}) + c_commit * ||c^e_{k+1} - c_{k+1}||^2

Letters: B batch, K unroll steps, A actions, C chance codes, V/R value/reward support bins.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from muzero.config import LearnerConfig
from muzero.errors import TrainingDiverged
from muzero.model.bridge import to_numpy
from muzero.model.networks import Network, chance_code
from muzero.model.support import logits_to_scalar, scalar_to_two_hot, scale_transform
from muzero.replay.buffer import TrainingBatch


class Losses(NamedTuple):
    total: float
    value: float
    reward: float
    policy: float
    consistency: float
    afterstate_value: float  # the three losses of stochastic dynamics (0 without)
    chance: float
    commitment: float
    learning_rate: float
    grad_norm: float
    clipped_targets: float  # value and reward targets beyond their support (clipped to its ends) in the batch


class ChanceUnroll(NamedTuple):
    """What a stochastic network predicted of chance along an unroll."""

    afterstate_value_logits: torch.Tensor  # (B, K, V) Q(as_k)
    chance_logits: torch.Tensor  # (B, K, C) sigma(c | as_k)
    codes: torch.Tensor  # (B, K, C) the encoder's one-hot code of each observed transition (straight-through)
    encodings: torch.Tensor  # (B, K, C) the encoder's output c^e, whose argmax the code is


class UnrollOutput(NamedTuple):
    policy_logits: torch.Tensor  # (B, K+1, A)
    value_logits: torch.Tensor  # (B, K+1, V)
    reward_logits: torch.Tensor  # (B, K+1, R), step 0 is zeros (nothing to predict)
    states: torch.Tensor  # (B, K+1, L) hidden states s^0..s^K
    chance: ChanceUnroll | None = None  # stochastic dynamics only


class LossWeights(NamedTuple):
    """How much each loss counts (learner config); policy and reward count 1."""

    value: float
    consistency: float = 0.0
    afterstate_value: float = 0.0
    chance: float = 0.0
    commitment: float = 0.0

    @classmethod
    def of(cls, config: LearnerConfig) -> LossWeights:
        return cls(
            config.value_loss_weight,
            config.consistency_loss_weight,
            config.afterstate_value_loss_weight,
            config.chance_loss_weight,
            config.commitment_loss_weight,
        )


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity forward; multiplies the gradient flowing back through it by ``scale``."""
    return x * scale + x.detach() * (1.0 - scale)


def unroll_model(
    network: Network,
    observation: torch.Tensor,
    actions: torch.Tensor,
    next_observations: torch.Tensor | None = None,
    chance_labels: torch.Tensor | None = None,
) -> UnrollOutput:
    """Predictions for k = 0..K along the given actions (B, K); a stochastic network also needs the
    observations reached, (B, K, D), for the chance encoder, or where it learns from the environment's
    labels (``network.chance_labels``) the chance outcomes named after each action, (B, K) int (-1: none,
    past an episode's end, where code 0 stands in; those steps are not learned from).

    The dynamics chain is sequential; the prediction function then runs once over all K+1 states.
    """
    batch, unroll_steps = actions.shape
    state = network.represent(observation)
    states = [state]
    rewards = [torch.zeros(batch, 2 * network.reward_support_size + 1, device=observation.device)]
    chance: list[tuple[torch.Tensor, ...]] = []
    before = observation
    for k in range(unroll_steps):
        if network.num_chance_codes:
            afterstate = network.afterstate(scale_gradient(state, 0.5), actions[:, k])
            chance_logits, afterstate_value = network.afterstate_predict(afterstate)
            if network.chance_labels:
                code = encoding = network.code_one_hot[chance_labels[:, k].clamp(min=0)]
            else:
                code, encoding = chance_code(network.encode_chance(before, next_observations[:, k]))
            state, reward = network.chance_dynamics(afterstate, code)
            chance.append((afterstate_value, chance_logits, code, encoding))
            before = next_observations[:, k]
        else:
            state, reward = network.dynamics(scale_gradient(state, 0.5), actions[:, k])
        states.append(state)
        rewards.append(reward)
    policy, value = network.predict(torch.cat(states))  # ((K+1)*B, A), ((K+1)*B, V)
    return UnrollOutput(
        policy.view(unroll_steps + 1, batch, -1).transpose(0, 1),
        value.view(unroll_steps + 1, batch, -1).transpose(0, 1),
        torch.stack(rewards, 1),
        torch.stack(states, 1),
        ChanceUnroll(*(torch.stack(part, 1) for part in zip(*chance, strict=True))) if chance else None,
    )


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CE between a target distribution and softmax(logits), over the last axis."""
    return -(target * torch.log_softmax(logits, dim=-1)).sum(-1)


def step_weights(unroll_steps: int, device: torch.device | None = None) -> torch.Tensor:
    """(K+1,) per-step loss weights: 1 for the initial inference, 1/K for each unrolled step."""
    weights = torch.full((unroll_steps + 1,), 1.0 / max(unroll_steps, 1), device=device)
    weights[0] = 1.0
    return weights


def muzero_loss(
    network: Network, batch: dict[str, torch.Tensor], loss_weights: LossWeights
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """Weighted total loss, its parts (means, for logging) and the (B,) initial value predictions."""
    out = unroll_model(
        network, batch["observation"], batch["actions"], batch["next_observations"], batch.get("next_chance")
    )
    value_target = scalar_to_two_hot(batch["target_value"], network.value_support_size)
    reward_target = scalar_to_two_hot(batch["target_reward"], network.reward_support_size)
    value_loss = cross_entropy(out.value_logits, value_target) * batch["value_mask"]  # (B, K+1)
    reward_loss = cross_entropy(out.reward_logits, reward_target) * batch["reward_mask"]
    policy_loss = cross_entropy(out.policy_logits, batch["target_policy"]) * batch["policy_mask"]
    weights = step_weights(batch["actions"].shape[1], value_loss.device)
    per_sample = ((loss_weights.value * value_loss + reward_loss + policy_loss) * weights).sum(1)  # (B,)
    zero = torch.zeros((), device=value_loss.device)
    parts = {
        "value": (value_loss * weights).sum(1).mean(),
        "reward": (reward_loss * weights).sum(1).mean(),
        "policy": (policy_loss * weights).sum(1).mean(),
        "consistency": zero,
        "afterstate_value": zero,
        "chance": zero,
        "commitment": zero,
        "clipped_targets": (
            count_clipped(batch["target_value"], network.value_support_size, batch["value_mask"])
            + count_clipped(batch["target_reward"], network.reward_support_size, batch["reward_mask"])
        ),
    }
    if loss_weights.consistency > 0 and batch["actions"].shape[1] > 0:
        consistency = consistency_loss(network, out.states[:, 1:], batch["next_observations"])
        consistency = (consistency * batch["next_observation_mask"] * weights[1:]).sum(1)  # (B,)
        per_sample = per_sample + loss_weights.consistency * consistency
        parts["consistency"] = consistency.mean()
    if out.chance is not None:
        chance_losses = chance_loss(out.chance, batch, value_target[:, :-1], weights[1:])
        for name, loss in zip(("afterstate_value", "chance", "commitment"), chance_losses, strict=True):
            per_sample = per_sample + getattr(loss_weights, name) * loss
            parts[name] = loss.mean()
    total = (per_sample * batch["weight"]).mean()
    initial_value = logits_to_scalar(out.value_logits[:, 0].detach(), network.value_support_size)
    return total, parts, initial_value


def chance_loss(
    chance: ChanceUnroll, batch: dict[str, torch.Tensor], value_target: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B,) each: the afterstate value loss (Q(as_k) against the two-hot z_k, (B, K, V)), sigma's loss against the
    encoder's (detached) code, and the commitment loss, summed over the K steps with ``weights`` (K,).

    Codes of transitions past the episode's end are not observed and are not learned from."""
    observed = batch["next_observation_mask"] * weights  # (B, K)
    afterstate_value = cross_entropy(chance.afterstate_value_logits, value_target) * batch["value_mask"][:, :-1]
    code = chance.codes.detach()
    sigma = cross_entropy(chance.chance_logits, code) * observed
    commitment = ((chance.encodings - code) ** 2).sum(-1) * observed
    return (afterstate_value * weights).sum(1), sigma.sum(1), commitment.sum(1)


def count_clipped(target: torch.Tensor, support_size: int, mask: torch.Tensor) -> torch.Tensor:
    """How many (unmasked) targets lie beyond the support -S..S after the h transform."""
    return ((scale_transform(target).abs() > support_size) & (mask > 0)).sum().float()


def consistency_loss(network: Network, states: torch.Tensor, observations: torch.Tensor) -> torch.Tensor:
    """(B, K) negative cosine similarity between projected unrolled states (B, K, L) and the stop-gradient
    projected representations of the observations actually reached (B, K, D) (EfficientZero, Ye et al. 2021)."""
    batch, steps = states.shape[:2]
    with torch.no_grad():
        target = network.project(network.represent(observations.reshape(batch * steps, -1)), with_head=False)
    predicted = network.project(states.reshape(batch * steps, -1), with_head=True)
    return -nn.functional.cosine_similarity(predicted, target, dim=-1).view(batch, steps)


def batch_to_tensors(batch: TrainingBatch, device: torch.device | None = None) -> dict[str, torch.Tensor]:
    tensors = {
        name: torch.from_numpy(np.ascontiguousarray(value)).to(device)
        for name, value in batch._asdict().items()
        if name != "index"
    }
    for name in ("value_mask", "reward_mask", "policy_mask", "next_observation_mask"):
        tensors[name] = tensors[name].float()
    return tensors


# learner.compile = "auto" compiles when a run plans at least this many gradient steps: enough to repay a
# first (uncached) compilation of 30-50 s at the ~3 ms per step it saves on a 2-core CPU.
COMPILE_MIN_STEPS = 20_000


def compile_cache_dir() -> Path:
    """Where compiled kernels persist between runs: ``$TORCHINDUCTOR_CACHE_DIR`` if the user set it, else
    ``$XDG_CACHE_HOME/muzero/torchinductor`` (``~/.cache/...``), so a compilation is paid once per install
    rather than once per boot (PyTorch's own default lives in the temporary directory, and PyTorch writes
    that default into the variable itself once anything asks for it)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    chosen = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if chosen and os.path.abspath(chosen) != os.path.abspath(default_cache_dir()):
        return Path(chosen)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "muzero" / "torchinductor"


class Learner:
    """Owns the optimiser, the learning-rate schedule and the target network used for Reanalyse."""

    def __init__(self, network: Network, config: LearnerConfig) -> None:
        self.network = network
        self.config = config
        # Fused Adam (one kernel for all parameters) is ~2x faster here; on the CPU it needs torch >= 2.4.
        self.optimizer = torch.optim.Adam(
            network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
        )
        self.device = network.action_one_hot.device
        self.target_network = copy.deepcopy(network).requires_grad_(False)
        self.steps = 0
        self._loss = muzero_loss  # muzero_loss, or its compiled form after prepare()
        self.compiled = False
        self._compile_worked = False
        self._compile_failed = False
        self.announce: Callable[[str], None] | None = None  # where to say that a compilation is under way

    def prepare(self, planned_steps: int) -> None:
        """Compile the loss if ``learner.compile`` asks for it, given the gradient steps a run plans.

        Compilation itself happens at the next ``update`` (torch.compile is lazy); if it fails there (no C++
        compiler, an unsupported platform), the learner warns once and stays eager.
        """
        mode = self.config.compile
        wanted = mode == "on" or (mode == "auto" and planned_steps >= COMPILE_MIN_STEPS)
        if not wanted or self.compiled or self._compile_failed:
            return
        # Documented global effect of compiling: PyTorch reads its kernel cache location from this variable.
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(compile_cache_dir())
        self._loss = torch.compile(muzero_loss, dynamic=False)
        self.compiled = True

    def _compute_loss(self, tensors: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict, torch.Tensor]:
        args = (self.network, tensors, LossWeights.of(self.config))
        if self._loss is muzero_loss:
            return muzero_loss(*args)
        first = not self._compile_worked
        if first and self.announce is not None:
            self.announce(
                f"compiling the loss (learner.compile; cache {os.environ['TORCHINDUCTOR_CACHE_DIR']}): "
                "30-50 s the first time on a 2-core CPU, a few seconds once cached"
            )
        started = time.perf_counter()
        try:
            result = self._loss(*args)
        except Exception as error:  # any compiler failure: fall back to the same loss, eager
            if self._compile_worked:
                raise
            warnings.warn(
                f"torch.compile failed ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                "training continues without compilation (set learner.compile=off to skip the attempt)",
                stacklevel=3,
            )
            self._loss = muzero_loss
            self.compiled = False
            self._compile_failed = True
            return muzero_loss(*args)
        if first and self.announce is not None:
            self.announce(f"loss compiled in {time.perf_counter() - started:.1f} s")
        self._compile_worked = True
        return result

    def learning_rate(self, step: int) -> float:
        c = self.config
        warmup = min(1.0, (step + 1) / c.lr_warmup_steps) if c.lr_warmup_steps > 0 else 1.0
        return c.learning_rate * warmup * c.lr_decay_rate ** (step / c.lr_decay_steps)

    def target_value(self, observation: np.ndarray) -> np.ndarray:
        """(M,) target-network values of (M, D) observations, for bootstrapping value targets."""
        with torch.inference_mode():
            net = self.target_network
            obs = torch.from_numpy(np.asarray(observation, np.float32)).to(self.device)
            _, value_logits = net.predict(net.represent(obs))
            return to_numpy(logits_to_scalar(value_logits, net.value_support_size))

    def update(self, batch: TrainingBatch) -> tuple[Losses, np.ndarray]:
        """One gradient step; returns the losses and new priorities |v_0 - z_0| for the sampled rows."""
        lr = self.learning_rate(self.steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        tensors = batch_to_tensors(batch, self.device)
        if not torch.isfinite(tensors["target_value"]).all():
            raise TrainingDiverged(f"value targets became non-finite at training step {self.steps}")
        total, parts, initial_value = self._compute_loss(tensors)
        if not torch.isfinite(total):
            raise TrainingDiverged(f"the training loss became {total.item()} at training step {self.steps}")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = nn.utils.clip_grad_norm_(self.network.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.steps += 1
        if self.steps % self.config.target_update_interval == 0:
            self.sync_target()
        priorities = to_numpy((initial_value - tensors["target_value"][:, 0]).abs())
        losses = Losses(
            total=total.item(),
            value=parts["value"].item(),
            reward=parts["reward"].item(),
            policy=parts["policy"].item(),
            consistency=parts["consistency"].item(),
            afterstate_value=parts["afterstate_value"].item(),
            chance=parts["chance"].item(),
            commitment=parts["commitment"].item(),
            learning_rate=lr,
            grad_norm=float(grad_norm),
            clipped_targets=parts["clipped_targets"].item(),
        )
        return losses, priorities

    def sync_target(self) -> None:
        self.target_network.load_state_dict(self.network.state_dict())

    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "target_network": self.target_network.state_dict(),
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.target_network.load_state_dict(state["target_network"])
        self.steps = int(state["steps"])
