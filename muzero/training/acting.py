"""Self-play: B environments act with one batched search per step and feed replay.

Optionally with temporally extended exploration (Dabney, Ostrovski and Barreto 2021, "Temporally-
Extended epsilon-Greedy Exploration"): an environment that is not already exploring starts, with
probability ``explore_probability``, to repeat one random legal action for 1..``explore_max_repeat``
steps. In Acrobot a uniformly random policy reaches the goal in about 3% of its 500-step episodes,
one that repeats each random action 1-8 steps in about 40%, so the first successes, from which
everything is learned, come an order of magnitude sooner. The search still runs on every step,
and its policy (visit distribution, or Gumbel's improved policy; not the exploratory action) is the target.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from muzero.config import SearchConfig
from muzero.envs.batch import BatchEnv, EnvStep
from muzero.model.bridge import NetworkModel
from muzero.search.mcts import run_mcts


class TrajectorySink(Protocol):
    """Where an actor's steps go: the replay buffer, or a worker's chunk (``muzero.training.selfplay``)."""

    def add_step(
        self,
        observation: np.ndarray,
        policy: np.ndarray,
        value: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        chance: np.ndarray | None = None,
    ) -> None: ...

    def end_episodes(
        self, envs: np.ndarray, final_observation: np.ndarray, terminated: np.ndarray, final_value: np.ndarray
    ) -> None: ...


class Actor:
    def __init__(
        self,
        envs: BatchEnv,
        model: NetworkModel,
        replay: TrajectorySink,
        search: SearchConfig,
        rng: np.random.Generator,
        reward_scale: float = 1.0,
        explore_probability: float = 0.0,
        explore_max_repeat: int = 1,
        explore_spread: float = 0.0,
        temperature_moves: int = 0,
    ) -> None:
        self.envs = envs
        self.model = model
        self.replay = replay
        self.search = search
        self.rng = rng
        self.reward_scale = reward_scale
        # (B,) per-environment probabilities, from p down to p ** (1 + spread) (Ape-X's actors).
        exponents = 1.0 + explore_spread * np.arange(envs.num_envs) / max(envs.num_envs - 1, 1)
        self.explore_probability = explore_probability**exponents if explore_probability > 0 else 0.0
        self.explore_max_repeat = explore_max_repeat
        self.temperature_moves = temperature_moves
        self.repeat_left = np.zeros(envs.num_envs, np.int64)  # (B,) exploratory steps still to take
        self.repeat_action = np.zeros(envs.num_envs, np.int64)  # (B,) the action being repeated

    def step(self, temperature: float) -> EnvStep:
        """Search every environment's observation (with root noise), act, and store the step."""
        observation = self.envs.observation.copy()
        legal = self.envs.legal_actions
        result = run_mcts(self.model, observation, self.search, self.rng, legal_actions=legal, temperature=temperature)
        actions = result.action
        if self.temperature_moves > 0:  # past the first moves of an episode: the search's own choice
            late = self.envs.episode_steps >= self.temperature_moves
            actions = np.where(late, result.greedy_action, actions)
        if np.any(self.explore_probability > 0):
            actions = self.explore(actions, legal)
        step = self.envs.step(actions)
        reward = step.reward * self.reward_scale
        self.replay.add_step(observation, result.policy, result.root_value, actions, reward, chance=step.chance)
        done = np.flatnonzero(step.done)
        if len(done):
            final = step.final_observation[done]
            self.replay.end_episodes(done, final, step.terminated[done], self.model.value(final))
            self.repeat_left[done] = 0
        return step

    def explore(self, actions: np.ndarray, legal: np.ndarray | None) -> np.ndarray:
        """(B,) the search's actions, replaced where an environment explores (see the module's doc)."""
        batch, num_actions = len(actions), self.envs.num_actions
        legal = np.ones((batch, num_actions), bool) if legal is None else legal
        # A repeated action that has become illegal ends its repetition.
        self.repeat_left[~legal[np.arange(batch), self.repeat_action]] = 0
        start = (self.repeat_left == 0) & (self.rng.random(batch) < self.explore_probability)
        for i in np.flatnonzero(start):
            self.repeat_action[i] = self.rng.choice(np.flatnonzero(legal[i]))
            self.repeat_left[i] = self.rng.integers(1, self.explore_max_repeat + 1)
        exploring = self.repeat_left > 0
        self.repeat_left[exploring] -= 1
        return np.where(exploring, self.repeat_action, actions)
