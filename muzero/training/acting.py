"""Self-play: B environments act with one batched search per step and feed replay."""

from __future__ import annotations

import numpy as np

from muzero.config import SearchConfig
from muzero.envs.batch import BatchEnv, EnvStep
from muzero.model.bridge import NetworkModel
from muzero.replay.buffer import ReplayBuffer
from muzero.search.mcts import run_mcts, select_actions, visit_policy


class Actor:
    def __init__(
        self,
        envs: BatchEnv,
        model: NetworkModel,
        replay: ReplayBuffer,
        search: SearchConfig,
        rng: np.random.Generator,
        reward_scale: float = 1.0,
    ) -> None:
        self.envs = envs
        self.model = model
        self.replay = replay
        self.search = search
        self.rng = rng
        self.reward_scale = reward_scale

    def step(self, temperature: float) -> EnvStep:
        """Search every environment's observation (with root noise), act, and store the step."""
        observation = self.envs.observation.copy()
        result = run_mcts(self.model, observation, self.search, self.rng, legal_actions=self.envs.legal_actions)
        actions = select_actions(result.visit_counts, temperature, self.rng)
        step = self.envs.step(actions)
        self.replay.add_step(
            observation, visit_policy(result.visit_counts), result.root_value, actions, step.reward * self.reward_scale
        )
        done = np.flatnonzero(step.done)
        if len(done):
            final = step.final_observation[done]
            self.replay.end_episodes(done, final, step.terminated[done], self.model.value(final))
        return step
