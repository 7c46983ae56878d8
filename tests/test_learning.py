"""The whole agent learns: CartPole-v1 on a fixed budget of environment steps.

Measured with the default preset at a budget of 2,000 environment steps (20-episode greedy
evaluation): seeds 0-7 scored 500 (solved at 1,008), 500 (solved at 1,504), 163, 315, 271,
500 (solved at 1,008), 162 and 208; an untrained agent scores about 9. The test asserts at
least 100: a tenfold rise, and below the worst seed seen.
"""

from __future__ import annotations

from muzero.app.callbacks import default_callbacks
from muzero.presets import cartpole
from muzero.training.trainer import Trainer

BUDGET = 2_000
THRESHOLD = 100.0


def test_cartpole_evaluation_rises_above_100_within_2000_env_steps():
    config = cartpole().with_sets([f"run.max_env_steps={BUDGET}", "eval.final_episodes=20", "run.seed=0"])
    trainer = Trainer(config, observers=default_callbacks(config))
    untrained = trainer.evaluate(10, seed_offset=-10_000).mean
    counters = trainer.run()
    result = trainer.final_evaluation()
    assert counters.env_steps <= BUDGET + config.env.num_envs
    assert untrained < 30.0
    assert result.mean >= THRESHOLD, f"mean {result.mean:.1f} after {counters.env_steps} env steps"
