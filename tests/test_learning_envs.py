"""The generic defaults learn an environment with a non-box observation: FrozenLake 4x4, not slippery.

FrozenLake's observation is Discrete(16) (one-hot), its only reward is 1 at the goal, and a random
policy reaches it in about 1.5% of episodes. Measured with the generic preset (evaluation every
1,000 steps): seeds 0-3 were solved (100 greedy episodes all reaching the goal) at 2,000, 1,008,
2,000 and 2,000 environment steps; an untrained agent never reaches the goal. The test gives
3,000 steps and asserts that every one of 20 greedy episodes reaches the goal.
"""

from __future__ import annotations

import pytest

from muzero.app.callbacks import default_callbacks
from muzero.presets import get_preset
from muzero.training.trainer import Trainer

pytestmark = pytest.mark.slow  # training runs with a learning outcome

BUDGET = 3_000


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
