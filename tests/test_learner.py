"""The training loss: gradient scaling through the unroll, masks, and that it learns."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from muzero.config import LearnerConfig, NetworkConfig
from muzero.model.networks import MuZeroNetwork
from muzero.model.support import scalar_to_two_hot
from muzero.replay.buffer import TrainingBatch
from muzero.training.learner import (
    COMPILE_MIN_STEPS,
    Learner,
    LossWeights,
    compile_cache_dir,
    cross_entropy,
    muzero_loss,
)

K = 3


def only_value_at(step: int, batch_size: int = 8) -> dict[str, torch.Tensor]:
    """A batch whose only active loss term is the value loss of unroll step ``step``."""
    gen = torch.Generator().manual_seed(step)
    value_mask = torch.zeros(batch_size, K + 1)
    value_mask[:, step] = 1.0
    return {
        "observation": torch.randn(batch_size, 4, generator=gen),
        "actions": torch.randint(0, 2, (batch_size, K), generator=gen),
        "target_value": torch.rand(batch_size, K + 1, generator=gen) * 20,
        "value_mask": value_mask,
        "target_reward": torch.zeros(batch_size, K + 1),
        "reward_mask": torch.zeros(batch_size, K + 1),
        "target_policy": torch.full((batch_size, K + 1, 2), 0.5),
        "policy_mask": torch.zeros(batch_size, K + 1),
        "next_observations": torch.randn(batch_size, K, 4, generator=gen),
        "next_observation_mask": torch.ones(batch_size, K),
        "weight": torch.ones(batch_size),
    }


@pytest.mark.parametrize("step", [0, 1, 2, 3])
def test_gradient_reaching_the_representation_carries_half_per_dynamics_step_and_one_over_k(step):
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=16, latent_size=8))
    # Non-zero output layers, so the value head passes gradient back into the state.
    torch.nn.init.normal_(network.prediction_net.output.weight)
    batch = only_value_at(step)
    parameters = list(network.representation_net.parameters())

    total, _, _ = muzero_loss(network, batch, LossWeights(1.0))
    scaled = torch.autograd.grad(total, parameters)

    # The same loss term with no gradient scaling at all.
    state = network.represent(batch["observation"])
    for k in range(step):
        state, _ = network.dynamics(state, batch["actions"][:, k])
    _, value_logits = network.predict(state)
    target = scalar_to_two_hot(batch["target_value"][:, step], network.value_support_size)
    plain_loss = cross_entropy(value_logits, target).mean()
    plain = torch.autograd.grad(plain_loss, parameters)

    factor = 1.0 if step == 0 else 0.5**step / K
    torch.testing.assert_close(total, plain_loss * (1.0 if step == 0 else 1.0 / K))
    for g_scaled, g_plain in zip(scaled, plain, strict=True):
        assert g_plain.abs().max() > 0
        torch.testing.assert_close(g_scaled, g_plain * factor, rtol=1e-4, atol=1e-7)


def test_masked_terms_contribute_nothing():
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=16, latent_size=8))
    batch = only_value_at(2)
    batch["value_mask"].zero_()
    total, parts, _ = muzero_loss(network, batch, LossWeights(1.0))
    assert total.item() == 0.0 and parts["value"].item() == 0.0


def test_importance_weights_scale_each_sample():
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=16, latent_size=8))
    batch = only_value_at(1)
    full, _, _ = muzero_loss(network, batch, LossWeights(1.0))
    batch["weight"] = torch.zeros(8)
    batch["weight"][0] = 1.0
    single, _, _ = muzero_loss(network, batch, LossWeights(1.0))
    batch_one = {k: v[:1] for k, v in only_value_at(1).items()}
    alone, _, _ = muzero_loss(network, batch_one, LossWeights(1.0))
    torch.testing.assert_close(single, alone / 8)
    assert full.item() != single.item()


def random_batch(batch_size: int = 32, seed: int = 0) -> TrainingBatch:
    rng = np.random.default_rng(seed)
    policy = rng.dirichlet([1, 1], size=(batch_size, K + 1)).astype(np.float32)
    return TrainingBatch(
        observation=rng.normal(size=(batch_size, 4)).astype(np.float32),
        actions=rng.integers(0, 2, size=(batch_size, K)),
        target_value=rng.uniform(0, 30, size=(batch_size, K + 1)).astype(np.float32),
        value_mask=np.ones((batch_size, K + 1), bool),
        target_reward=rng.uniform(0, 2, size=(batch_size, K + 1)).astype(np.float32),
        reward_mask=np.ones((batch_size, K + 1), bool),
        target_policy=policy,
        policy_mask=np.ones((batch_size, K + 1), bool),
        next_observations=rng.normal(size=(batch_size, K, 4)).astype(np.float32),
        next_observation_mask=np.ones((batch_size, K), bool),
        next_chance=np.full((batch_size, K), -1),
        weight=np.ones(batch_size, np.float32),
        index=np.arange(batch_size),
    )


def test_learner_fits_a_fixed_batch_and_returns_priorities():
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=32, latent_size=16))
    learner = Learner(network, LearnerConfig(learning_rate=3e-3, lr_warmup_steps=1, unroll_steps=K))
    batch_size = 32
    batch = random_batch(batch_size)
    first, priorities = learner.update(batch)
    assert priorities.shape == (batch_size,) and (priorities >= 0).all()
    for _ in range(300):
        last, _ = learner.update(batch)
    # Random policy and reward targets have an entropy floor; the value loss has most room to fall.
    assert last.value < 0.35 * first.value
    assert last.total < 0.7 * first.total
    assert learner.steps == 301


def test_learning_rate_warms_up_then_decays():
    network = MuZeroNetwork(4, 2, NetworkConfig())
    learner = Learner(
        network, LearnerConfig(learning_rate=0.01, lr_warmup_steps=10, lr_decay_rate=0.5, lr_decay_steps=100)
    )
    assert learner.learning_rate(0) == pytest.approx(0.001 * 0.5 ** (0 / 100))
    assert learner.learning_rate(9) == pytest.approx(0.01 * 0.5 ** (9 / 100))
    assert learner.learning_rate(100) == pytest.approx(0.005)


def test_consistency_loss_compares_unrolled_states_with_the_observations_reached():
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=16, latent_size=8))
    batch = only_value_at(0)
    batch["value_mask"].zero_()
    batch["next_observation_mask"][:, -1] = 0.0  # the last step lies past the episode's end
    total, parts, _ = muzero_loss(network, batch, LossWeights(1.0, consistency=2.0))
    state = network.represent(batch["observation"])
    expected = torch.zeros(8)
    for k in range(K - 1):
        state, _ = network.dynamics(state, batch["actions"][:, k])
        target = network.project(network.represent(batch["next_observations"][:, k]), with_head=False)
        predicted = network.project(state, with_head=True)
        expected -= torch.nn.functional.cosine_similarity(predicted, target, dim=-1) / K
    torch.testing.assert_close(parts["consistency"], expected.mean())
    torch.testing.assert_close(total, 2.0 * expected.mean())
    # The target branch is a constant: gradients reach the projection head only through the unrolled states.
    total.backward()
    assert network.projection_head.hidden[0].weight.grad.abs().sum() > 0


def test_supports_are_chosen_from_the_environment_and_clipping_warns_once():
    from muzero.config import Config
    from muzero.training.trainer import Trainer

    small = "env.num_envs=4,search.num_simulations=2,acting.min_replay_size=64,eval.interval=100000"
    sets = small.split(",")
    cartpole = Trainer(Config().with_sets(sets))
    assert (cartpole.network.value_support_size, cartpole.network.reward_support_size) == (10, 5)
    assert cartpole.config.network.value_support_size == 10  # resolved into the saved config
    scaled = Trainer(Config().with_sets([*sets, "env.reward_scale=50"]))  # returns up to about 5,000
    assert scaled.network.value_support_size >= 70 and scaled.network.reward_support_size == 7  # h(50) = 6.2

    # Rewards of 1,000 a step on supports sized for CartPole: targets clip, are counted, and warn once.
    clipping = Trainer(Config().with_sets([*sets, "env.reward_scale=1000", "network.value_support_size=10"]))
    assert clipping.network.reward_support_size >= 32  # the reward support followed the scale...
    with pytest.warns(UserWarning, match="fell outside the supports") as caught:
        for _ in range(20):
            clipping.iteration()
    assert len([w for w in caught if "fell outside" in str(w.message)]) == 1
    assert clipping.counters.clipped_targets > 0  # ...the value support, fixed by hand, did not


def test_consistency_target_branch_is_a_stop_gradient():
    """The representation of the observations reached is a constant target: the representation network gets
    gradient only through the unrolled states (s_0 = h(o_t)), never through h(o_{t+k})."""
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=16, latent_size=8))
    batch = only_value_at(0)
    batch["value_mask"].zero_()
    total, _, _ = muzero_loss(network, batch, LossWeights(1.0, consistency=1.0))
    total.backward()
    got = [p.grad.clone() for p in network.representation_net.parameters()]

    # The same loss written out with the target branch detached by hand.
    network.zero_grad()
    state = network.represent(batch["observation"])
    loss = torch.zeros(())
    for k in range(K):
        state, _ = network.dynamics(state * 0.5 + state.detach() * 0.5, batch["actions"][:, k])
        target = network.project(network.represent(batch["next_observations"][:, k]), with_head=False).detach()
        predicted = network.project(state, with_head=True)
        loss = loss - torch.nn.functional.cosine_similarity(predicted, target, dim=-1).mean() / K
    loss.backward()
    for a, b in zip(got, (p.grad for p in network.representation_net.parameters()), strict=True):
        torch.testing.assert_close(a, b)
    # And the target branch alone would have produced a gradient: the check above can fail.
    network.zero_grad()
    target = network.project(network.represent(batch["next_observations"][:, 0]), with_head=False)
    target.sum().backward()
    assert any(p.grad.abs().sum() > 0 for p in network.representation_net.parameters())


def keep_compile_cache_where_it_is(monkeypatch) -> None:
    """Pin PyTorch's kernel cache to the one compiling learners use (restored after the test): never the
    working directory, which an empty variable would mean."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(compile_cache_dir()))


def twin_learners(compile_mode: str) -> tuple[Learner, Learner]:
    """An eager learner and one with ``learner.compile = compile_mode``, from identical weights."""
    torch.manual_seed(0)
    network = MuZeroNetwork(4, 2, NetworkConfig(hidden_size=32, latent_size=16))
    twin = copy.deepcopy(network)
    eager = Learner(network, LearnerConfig(unroll_steps=K, compile="off"))
    other = Learner(twin, LearnerConfig(unroll_steps=K, compile=compile_mode))
    return eager, other


def test_auto_compiles_only_runs_long_enough_to_repay_it(monkeypatch):
    keep_compile_cache_where_it_is(monkeypatch)
    for mode, planned, compiled in [
        ("auto", COMPILE_MIN_STEPS - 1, False),
        ("auto", COMPILE_MIN_STEPS, True),
        ("on", 1, True),
        ("off", 10**9, False),
    ]:
        _, learner = twin_learners(mode)
        learner.prepare(planned)
        assert learner.compiled is compiled, (mode, planned)


def test_a_compiled_learner_takes_the_same_steps_as_the_eager_one(monkeypatch):
    """The whole learner step with the loss compiled (torch.compile) matches eager within float rounding."""
    keep_compile_cache_where_it_is(monkeypatch)
    eager, compiled = twin_learners("on")
    compiled.prepare(1)
    for seed in range(3):
        batch = random_batch(seed=seed)
        (a, pa), (b, pb) = eager.update(batch), compiled.update(batch)
        assert compiled.compiled  # it did compile, and did not fall back
        assert a.total == pytest.approx(b.total, rel=1e-4)
        np.testing.assert_allclose(pa, pb, rtol=1e-4, atol=1e-3)  # |v - z| on returns up to 30
    for p, q in zip(eager.network.parameters(), compiled.network.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_a_failing_compilation_warns_once_and_trains_eagerly(monkeypatch):
    keep_compile_cache_where_it_is(monkeypatch)

    def broken_compile(function, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler found")

        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    eager, learner = twin_learners("on")
    learner.prepare(1)
    batch = random_batch()
    with pytest.warns(UserWarning, match="torch.compile failed .*no C\\+\\+ compiler"):
        losses, _ = learner.update(batch)
    assert not learner.compiled
    assert losses.total == eager.update(batch)[0].total  # the same eager step
    learner.prepare(10**9)  # a later run does not try again
    assert not learner.compiled
