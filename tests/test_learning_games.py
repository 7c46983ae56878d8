"""Self-play learns tic-tac-toe: after a small budget the agent beats the random player clearly.

Measured with the tic-tac-toe preset, seed 0: an untrained agent (greedy search on random networks)
scores 0.60 against the random player over 100 games (50 moving first); after 8,000 environment
steps (moves) of self-play it scored 0.815 (13 losses), after 12,000 0.88 (84 wins, 8 draws, 8
losses). The test gives 12,000 steps and asserts a score of at least 0.8 with at most 15 losses, and
a gain of at least 0.15 over the untrained agent.
"""

from __future__ import annotations

import pytest

from muzero.presets import resolve
from muzero.training.trainer import Trainer

pytestmark = pytest.mark.slow  # training runs with a learning outcome

pytest.importorskip("pettingzoo")

BUDGET = 12_000


def test_self_play_beats_the_random_player_at_tic_tac_toe_within_12000_moves():
    config, preset = resolve("tictactoe_v3", None)
    assert preset == "tictactoe"
    config = config.with_sets([f"run.max_env_steps={BUDGET}", "eval.interval=1000000", "eval.final_episodes=0"])
    trainer = Trainer(config)
    assert trainer.discount == -0.99  # two players: -gamma per move
    untrained = trainer.evaluate(100, seed_offset=-10_000, opponent="random")
    trainer.run()
    trained = trainer.evaluate(100, seed_offset=-10_000, opponent="random")
    record = trained.games["random"]
    losses = record["first"]["losses"] + record["second"]["losses"]
    assert trained.mean >= 0.8 and losses <= 15, record
    assert trained.mean >= untrained.mean + 0.15, (untrained.games, trained.games)
