"""FrozenLake 4x4: the generic defaults learn it without slipping, and on slippery ice Stochastic MuZero's model
learns the transitions better than the deterministic model (the comparison near the end).

FrozenLake's observation is Discrete(16) (one-hot), its only reward is 1 at the goal, and a random
policy reaches it in about 1.5% of episodes. Measured with the generic preset (evaluation every
1,000 steps): seeds 0-3 were solved (100 greedy episodes all reaching the goal) at 2,000, 1,008,
2,000 and 2,000 environment steps; an untrained agent never reaches the goal. The test gives
3,000 steps and asserts that every one of 20 greedy episodes reaches the goal.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from muzero.app.callbacks import default_callbacks
from muzero.presets import get_preset
from muzero.training.trainer import Trainer

pytestmark = pytest.mark.slow  # training runs with a learning outcome

BUDGET = 3_000
# Slippery FrozenLake, each model with the frozenlake preset for SLIPPERY_BUDGET steps. Measured (seeds 0-2, model
# error stochastic / deterministic): 4,000 steps 0.037 / 0.062, 0.033 / 0.070 and 0.062 / 0.059 (seed 2 does not
# separate them: the test runs seed 0, as every test here, and can fail); 2,000 and 3,000 steps did not
# separate them (2,000: 0.071 / 0.064, 0.039 / 0.070, 0.047 / 0.037; 3,000 on seed 0: 0.068 / 0.054). The margin
# is thin and seed-dependent: this is the claim at one budget and seed, not across seeds. The greedy policies'
# success rates at 4,000 steps (0.04-0.13) do not separate them either, so the test compares the models, not the
# policies. Side by side in two processes the test took 187 s beside another 1-thread job (one after the other: 216 s).
# These figures are the preset's before it scaled the reward to 10 (with supports of 3): the test keeps those
# settings, since scaled it does not separate the models at this budget (4,000 steps, seed 0: 0.374 / 0.400).
SLIPPERY_BUDGET = 4_000
SLIPPERY_ERROR_RATIO = 0.8
# The settings the comparison was calibrated with, where the preset has moved on since: the reward unscaled (auto
# support sizes), the paper's c1, the full commitment weight, greedy play at the self-play simulations.
CALIBRATED = (
    "env.reward_scale=1",
    "network.value_support_size=none",
    "network.reward_support_size=none",
    "search.pb_c_init=1.25",
    "search.greedy_simulations=none",
    "learner.commitment_loss_weight=1.0",
)


def test_generic_defaults_solve_deterministic_frozenlake_within_3000_env_steps():
    config = get_preset("generic", "FrozenLake-v1").replace({"env.kwargs": ("is_slippery=False",)})
    config = config.with_sets([f"run.max_env_steps={BUDGET}", "eval.interval=1000", "eval.final_episodes=20"])
    trainer = Trainer(config, observers=default_callbacks(config))
    assert trainer.spec.observation_size == 16  # Discrete(16), one-hot
    untrained = trainer.evaluate(10, seed_offset=-10_000).mean
    counters = trainer.run()
    result = trainer.final_evaluation()
    assert untrained == 0.0
    assert counters.env_steps <= BUDGET + config.env.num_envs
    assert result.mean == 1.0, f"success rate {result.mean:.2f} after {counters.env_steps} env steps"


def frozenlake_scores(trainer: Trainer, horizon: int = 100) -> dict[str, float]:
    """Two exact scores of a trainer on slippery FrozenLake, over its transition table.

    ``success``: the probability that the greedy policy reaches the goal within ``horizon`` steps from the
    start (finite-horizon policy evaluation). ``model_error``: the mean over live states and actions of
    |Q_model(s, a) - Q_true(s, a)|, where Q_true averages the network's own value head over the true next
    states, sum_s' P(s' | s, a) (r + discount v(h(s'))), and Q_model is what its learned model predicts for the
    same thing: r(s, a) + discount v(g(s, a)) (deterministic), sum_c sigma(c | as) (r + discount v(s'_c))
    (stochastic). It measures the model alone, against a value head both models learn equally well.
    """
    import gymnasium as gym
    import numpy as np

    from muzero.search.mcts import greedy_actions

    env = gym.make("FrozenLake-v1").unwrapped
    table, states = env.P, np.arange(env.observation_space.n)
    model, discount = trainer.model, trainer.config.discount
    observation = trainer.encoder.encode_batch(states)[0]
    policy = greedy_actions(model, observation, trainer.config.search)
    values = np.zeros(len(states))
    for _ in range(horizon):
        values = np.array(
            [sum(p * (r + (0.0 if done else values[s2])) for p, s2, r, done in table[s][policy[s]]) for s in states]
        )
    root = model.initial_inference(observation)
    head = np.asarray(root.value, np.float64)
    errors = []
    for action in range(4):
        actions = np.full(len(states), action)
        if hasattr(model, "afterstate_inference"):
            after = model.afterstate_inference(root.embedding, actions)
            sigma = np.exp(after.chance_logits - after.chance_logits.max(1, keepdims=True))
            sigma /= sigma.sum(1, keepdims=True)
            predicted = np.zeros(len(states))
            for code in range(sigma.shape[1]):
                out = model.chance_inference(after.embedding, np.full(len(states), code))
                predicted += sigma[:, code] * (out.reward + out.discount * out.value)
        else:
            out = model.recurrent_inference(root.embedding, actions)
            predicted = out.reward + out.discount * out.value
        true = np.array(
            [
                sum(p * (r + (0.0 if done else discount * head[s2])) for p, s2, r, done in table[s][action])
                for s in states
            ]
        )
        live = [s for s in states if not all(done and s2 == s for _, s2, _, done in table[s][action])]
        errors.append(np.abs(predicted - true)[live])
    return {"success": float(env.initial_state_distrib @ values), "model_error": float(np.concatenate(errors).mean())}


def slippery_scores(dynamics: str) -> dict[str, float]:
    """``frozenlake_scores`` of the frozenlake preset (with the CALIBRATED settings) trained with ``dynamics`` for
    SLIPPERY_BUDGET steps, seed 0, one torch thread (the same result in any process: the test runs the two models
    side by side)."""
    config = get_preset("frozenlake").with_sets(
        [
            *CALIBRATED,
            f"network.dynamics={dynamics}",
            f"run.max_env_steps={SLIPPERY_BUDGET}",
            "run.threads=1",
            "eval.interval=1000000",
        ]
    )
    trainer = Trainer(config)
    trainer.run()
    return frozenlake_scores(trainer)


def test_the_stochastic_model_learns_slippery_frozenlake_better_than_the_deterministic_one():
    """On the same budget the stochastic model's expected Q is closer to the truth (the value head averaged over
    the true next states) than the deterministic model's one-step Q: one next state cannot stand for three. The two
    runs train side by side in two processes, one thread each, so the test takes the time of the slower one."""
    models = ("stochastic", "deterministic")
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        scores = dict(zip(models, pool.map(slippery_scores, models), strict=True))
    stochastic, deterministic = scores["stochastic"], scores["deterministic"]
    assert stochastic["model_error"] <= SLIPPERY_ERROR_RATIO * deterministic["model_error"], scores
