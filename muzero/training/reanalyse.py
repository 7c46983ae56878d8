"""Reanalyse (MuZero Unplugged, Schrittwieser et al. 2021; EfficientZero, Ye et al. 2021).

For a fraction of every training batch, the stored policy targets are replaced by a fresh search
(no noise) on the stored observations of the K+1 unrolled positions, and the value targets are
rebuilt with the fresh search's root value as the n-step bootstrap. The search uses the target
network (``learner.reanalyse_network = "target"``, as EfficientZero) or the latest one
(``"current"``). Rows past an episode's end keep their (masked) targets. Where the environment
publishes action masks, replay does not store them: a reanalysed search considers only the
actions the acting search gave probability (never an illegal one).

Cost: one search over R * (K+1) positions and R * (K+1) bootstrap positions per training step,
with R = fraction * batch size (``benchmarks/train_speed.py --no-run --set
learner.reanalyse_fraction=F`` measures it).
"""

from __future__ import annotations

import numpy as np

from muzero.config import Config
from muzero.model.bridge import NetworkModel
from muzero.replay.buffer import ReplayBuffer, TrainingBatch
from muzero.search.mcts import run_mcts


class Reanalyser:
    def __init__(self, model: NetworkModel, config: Config, masked: bool) -> None:
        self.model = model  # its discount is the per-move one the targets bootstrap with (-gamma in games)
        self.config = config
        self.masked = masked  # the environment publishes action masks

    def rows(self, batch_size: int) -> int:
        """How many rows of a batch are reanalysed (the first ones: sampling already shuffled them)."""
        return round(self.config.learner.reanalyse_fraction * batch_size)

    def apply(self, batch: TrainingBatch, replay: ReplayBuffer, rng: np.random.Generator) -> TrainingBatch:
        """The batch with fresh policy and value targets in its first ``rows`` rows.

        One search covers both the policy positions and the bootstrap positions, so the fixed cost
        of a search (a network call per simulation, whatever the number of roots) is paid once, not
        twice: a sixth of Reanalyse's time at a fraction of 0.25 (docs/performance.md, "What Reanalyse costs").
        """
        count = self.rows(len(batch.index))
        if count == 0:
            return batch
        learner = self.config.learner
        # Observations at offsets 0..K of the reanalysed rows; only positions with a policy target are searched.
        observations = np.concatenate([batch.observation[:count, None], batch.next_observations[:count]], axis=1)
        where = np.nonzero(batch.policy_mask[:count])
        policy_observations = observations[where]
        legal = batch.target_policy[:count][where] > 0 if self.masked else None
        searched = {}

        def search_values(boot_observations: np.ndarray) -> np.ndarray:
            """Root values of the bootstrap positions, from one search that also covers the policy positions."""
            every = np.concatenate([policy_observations, boot_observations])
            every_legal = None
            if legal is not None:  # bootstrap positions may be final rows, with no stored policy: every action
                every_legal = np.concatenate([legal, np.ones((len(boot_observations), legal.shape[1]), bool)])
            result = run_mcts(self.model, every, self.config.search, rng=None, legal_actions=every_legal)
            searched["policy"] = result.policy[: len(policy_observations)]
            return result.root_value[len(policy_observations) :]

        fresh = replay.batch_at(
            batch.index[:count], learner.unroll_steps, learner.td_steps, self.model.discount, rng, search_values
        )
        target_value = batch.target_value.copy()
        target_value[:count] = fresh.target_value
        target_policy = batch.target_policy.copy()
        target_policy[:count][where] = searched["policy"]
        return batch._replace(target_value=target_value, target_policy=target_policy)
