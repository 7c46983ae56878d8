"""The whole agent learns: CartPole-v1 on a fixed budget of environment steps, and ``diagnose`` sees it.

Measured with the default preset at a budget of 2,000 environment steps (20-episode greedy
evaluation): seeds 0-7 scored 500 (solved at 1,008), 500 (solved at 1,504), 163, 315, 271,
500 (solved at 1,008), 162 and 208; an untrained agent scores about 9. The test asserts at
least 100: a tenfold rise, and below the worst seed seen.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from muzero.app.callbacks import default_callbacks
from muzero.app.diagnose import diagnose, record
from muzero.model.bridge import NetworkModel
from muzero.presets import cartpole
from muzero.training.trainer import Trainer

pytestmark = pytest.mark.slow  # training runs with a learning outcome

BUDGET = 2_000
THRESHOLD = 100.0


@pytest.fixture(scope="module")
def trained():
    config = cartpole().with_sets([f"run.max_env_steps={BUDGET}", "eval.final_episodes=20", "run.seed=0"])
    trainer = Trainer(config, observers=default_callbacks(config))
    untrained_mean = trainer.evaluate(10, seed_offset=-10_000).mean
    untrained_network = copy.deepcopy(trainer.network)
    counters = trainer.run()
    return trainer, counters, untrained_mean, untrained_network


def test_cartpole_evaluation_rises_above_100_within_2000_env_steps(trained):
    trainer, counters, untrained, _ = trained
    result = trainer.final_evaluation()
    assert counters.env_steps <= BUDGET + trainer.config.env.num_envs
    assert untrained < 30.0
    assert result.mean >= THRESHOLD, f"mean {result.mean:.1f} after {counters.env_steps} env steps"


def test_diagnose_shows_the_trained_model_knows_more_than_an_untrained_one(trained):
    trainer, _, _, untrained_network = trained
    agent = SimpleNamespace(model=trainer.model, config=trainer.config, encoder=trainer.encoder, source=trainer.source)
    blank = SimpleNamespace(**{**vars(agent), "model": NetworkModel(untrained_network, trainer.model.discount)})
    episodes = record(agent, episodes=4, seed=0)  # the trained agent's episodes, read by both models
    learned, nothing = diagnose(agent, recorded=episodes), diagnose(blank, recorded=episodes)
    K = trainer.config.learner.unroll_steps
    for k in (1, K, 2 * K):  # inside the unroll and beyond it
        assert learned["per_k"][k]["reward_mae"] < 0.2 < nothing["per_k"][k]["reward_mae"]
    foresight, blind = learned["cartpole"]["foresight"], nothing["cartpole"]["foresight"]
    assert foresight["terminated_episodes"] > 0
    assert foresight["auc_falls_within_10"] > 0.7 and blind["auc_falls_within_10"] < 0.6
    assert len(learned["cartpole"]["probe"]) == 2 * K + 1
