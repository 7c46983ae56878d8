"""Replay: trajectories of every acting environment, prioritised sampling, K-step targets.

Each environment owns a ring of rows, so an episode's steps are consecutive and targets can be
read straight off a window, even from episodes still running. A row holds the observation, the
search's visit distribution and root value, the action taken and the reward that followed. When
an episode ends, one more *final row* holds the observation it ended on, whether it truly ended
(terminated) or was cut off (truncated), and the network's value of that observation for
bootstrapping. Rows are addressed by absolute position p (row p of env e lives at p mod L).

Memory is bounded: ``capacity`` rows in all; the oldest rows are overwritten first. With
``end_reservoir`` > 0, a few extra rings keep copies of the last ``end_tail_steps`` steps of every
episode that truly ended (terminated, not cut off): once an agent plays long episodes, its own
data would otherwise push every fall out of replay, and it forgets what failure looks like
(docs/results/long-tail.md). Each copy is a complete short episode, so its targets are exact. Its
rows are sampled with all the others, or, with ``end_reservoir_share`` > 0, make up that fixed
share of every batch however many there are.

Observations are stored as they travel: float32, or uint8 for pixels (``dtype``). With frame
stacking (``muzero.envs.stacking``) a row keeps only its newest frame, in a frame ring S - 1 rows
longer than the row ring (so every row's oldest frame is still there), with the action that led to
it and its episode's first position; sampling rebuilds each stack by index with the wrapper's rule.

Letters: E environments, L rows per environment, D observation size, A actions, B batch,
K unroll steps, n TD steps, S stacked frames, F flat frame size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from muzero.config import ReplayConfig
from muzero.envs.stacking import Stacking
from muzero.replay.sum_tree import SumTree
from muzero.replay.targets import bootstrap_offsets, n_step_value_targets, reward_targets


class TrainingBatch(NamedTuple):
    observation: np.ndarray  # (B, D) observation at the sampled position
    actions: np.ndarray  # (B, K) actions to unroll (random past the episode's end)
    target_value: np.ndarray  # (B, K+1) n-step value targets
    value_mask: np.ndarray  # (B, K+1) bool
    target_reward: np.ndarray  # (B, K+1) reward targets (column 0 unused)
    reward_mask: np.ndarray  # (B, K+1) bool
    target_policy: np.ndarray  # (B, K+1, A) visit distributions
    policy_mask: np.ndarray  # (B, K+1) bool
    next_observations: np.ndarray  # (B, K, D) observations reached after each unrolled action
    next_observation_mask: np.ndarray  # (B, K) bool: that observation exists (inside the episode)
    next_chance: np.ndarray  # (B, K) int: the chance outcome the environment named after each action, -1 none
    weight: np.ndarray  # (B,) importance weights, max 1
    index: np.ndarray  # (B,) flat row indices, for priority updates


ValueFn = Callable[[np.ndarray], np.ndarray]  # (M, D) observations -> (M,) values


class ReplayBuffer:
    def __init__(
        self,
        num_envs: int,
        observation_size: int,
        num_actions: int,
        config: ReplayConfig,
        dtype: np.dtype | type = np.float32,
        stacking: Stacking | None = None,
    ) -> None:
        self.config = config
        self.num_envs = num_envs
        self.observation_size = observation_size
        self.rows_per_env = max(2, config.capacity // num_envs)
        if stacking is not None and config.end_reservoir:
            raise ValueError("replay.end_reservoir does not work with env.frame_stack > 1 yet: set one of them off")
        if stacking is not None and stacking.size != observation_size:
            raise ValueError(f"stacked observations have {stacking.size} values, the environment's {observation_size}")
        # Rings num_envs.. hold copies of episode endings (the end reservoir); they never act.
        self.reservoir_rings = -(-config.end_reservoir // self.rows_per_env) if config.end_reservoir else 0
        self.end_tail_steps = min(config.end_tail_steps, self.rows_per_env - 1)
        self.ends_kept = 0
        num_rings = num_envs + self.reservoir_rings
        shape = (num_rings, self.rows_per_env)
        self.stacking = stacking
        if stacking is None:
            self.observation = np.zeros((*shape, observation_size), dtype)  # (E, L, D)
            self.observation_fields: tuple[str, ...] = ("observation",)
        else:
            self.frames_per_env = self.rows_per_env + stacking.frames - 1
            frame_shape = (num_rings, self.frames_per_env)
            self.frame = np.zeros((*frame_shape, stacking.frame_size), dtype)  # (E, L + S - 1, F)
            self.frame_action = np.full(frame_shape, -1, np.int16)  # (E, L + S - 1) action that led to it, -1 none
            # (E, L + S - 1) earlier frames of its episode, counted up to S - 1: its stack's padding starts there.
            self.frame_depth = np.zeros(frame_shape, np.uint8)
            self.observation_fields = ("frame", "frame_action", "frame_depth")
        self.action = np.zeros(shape, np.int32)  # (E, L)
        self.reward = np.zeros(shape, np.float32)  # (E, L) reward after the row's action
        self.chance = np.full(shape, -1, np.int16)  # (E, L) chance outcome after it, named by the env; -1 none
        self.policy = np.zeros((*shape, num_actions), np.float32)  # (E, L, A)
        self.value = np.zeros(shape, np.float32)  # (E, L) search value; network value at final rows
        self.position = np.full(shape, -1, np.int64)  # (E, L) absolute position, -1 if empty
        self.episode_end = np.full(shape, -1, np.int64)  # (E, L) position of the episode's final row, -1 if running
        self.is_final = np.zeros(shape, bool)  # (E, L) a final row (no action, no policy)
        self.terminated = np.zeros(shape, bool)  # (E, L) a final row of an episode that truly ended
        self.head = np.zeros(num_rings, np.int64)  # (E,) next position each env writes
        self.episode_start = np.zeros(num_rings, np.int64)  # (E,) position of each running episode's first row
        self.tree = SumTree(num_rings * self.rows_per_env)
        self.max_priority = 1.0
        self.num_samplable = 0  # rows with nonzero priority
        self.rows_added = 0

    def __len__(self) -> int:
        return self.num_samplable

    def add_step(
        self,
        observation: np.ndarray,
        policy: np.ndarray,
        value: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        chance: np.ndarray | None = None,
        envs: np.ndarray | None = None,
    ) -> None:
        """Append one searched step for every environment (or for the M rings ``envs``): arrays (E, D), (E, A),
        (E,), (E,), (E,) (M in place of E), and the chance outcome that followed each action where the
        environment named one (E,) (-1, or None: it did not)."""
        envs = np.arange(self.num_envs) if envs is None else np.asarray(envs, np.int64)
        self._write_observation(envs, observation)
        slot = self._claim(envs)
        self.policy[envs, slot] = policy
        self.value[envs, slot] = value
        self.action[envs, slot] = action
        self.reward[envs, slot] = reward
        self.chance[envs, slot] = -1 if chance is None else chance
        self.is_final[envs, slot] = False
        self.terminated[envs, slot] = False
        self._set_priority(envs, slot, np.full(len(envs), self.max_priority))

    def end_episodes(
        self, envs: np.ndarray, final_observation: np.ndarray, terminated: np.ndarray, final_value: np.ndarray
    ) -> None:
        """Close the running episodes of ``envs`` with a final row each: arrays (M,), (M, D), (M,), (M,)."""
        envs = np.asarray(envs, np.int64)
        if len(envs) == 0:
            return
        self._write_observation(envs, final_observation)
        slot = self._claim(envs)
        final_position = self.head[envs] - 1
        self.policy[envs, slot] = 0.0
        self.value[envs, slot] = np.where(terminated, 0.0, final_value)
        self.action[envs, slot] = 0
        self.reward[envs, slot] = 0.0
        self.chance[envs, slot] = -1
        self.is_final[envs, slot] = True
        self.terminated[envs, slot] = terminated
        self._set_priority(envs, slot, np.zeros(len(envs)))
        for e, end, ended in zip(envs, final_position, terminated, strict=True):  # once per finished episode
            first = max(self.episode_start[e], end - self.rows_per_env + 1)
            self.episode_end[e, np.arange(first, end + 1) % self.rows_per_env] = end
            if ended and self.reservoir_rings:
                self._keep_ending(e, max(first, end - self.end_tail_steps), end)
        self.episode_start[envs] = final_position + 1

    def _keep_ending(self, env: int, first: int, end: int) -> None:
        """Copy rows ``first..end`` of ``env`` (an episode's last steps and its final row) into the reservoir."""
        ring = self.num_envs + self.ends_kept % self.reservoir_rings
        self.ends_kept += 1
        source = np.arange(first, end + 1) % self.rows_per_env
        positions = self.head[ring] + np.arange(len(source))
        slot = positions % self.rows_per_env
        for name in ("observation", "action", "reward", "chance", "policy", "value", "is_final", "terminated"):
            array = getattr(self, name)
            array[ring, slot] = array[env, source]
        self.position[ring, slot] = positions
        self.episode_end[ring, slot] = positions[-1]
        rings = np.full(len(slot), ring)
        self._set_priority(rings, slot, np.where(self.is_final[ring, slot], 0.0, self.max_priority))
        self.head[ring] = self.episode_start[ring] = positions[-1] + 1

    def close_running_episodes(self, envs: np.ndarray | None = None) -> None:
        """Treat every running episode (of ``envs``, default all) as cut off at its newest row: a run resumes,
        or the actor that played them was lost."""
        envs = np.arange(len(self.head)) if envs is None else np.asarray(envs, np.int64)
        running = envs[self.head[envs] > self.episode_start[envs]]
        for e in running:
            end = self.head[e] - 1
            first = max(self.episode_start[e], end - self.rows_per_env + 1)
            self.episode_end[e, np.arange(first, end + 1) % self.rows_per_env] = end
        self.episode_start[envs] = self.head[envs]

    def _write_observation(self, envs: np.ndarray, observation: np.ndarray) -> None:
        """Store the observations (M, D) of the rows ``envs`` are about to claim (at their heads)."""
        position = self.head[envs]
        if self.stacking is None:
            self.observation[envs, position % self.rows_per_env] = observation
            return
        slot = position % self.frames_per_env
        self.frame[envs, slot] = self.stacking.newest(np.asarray(observation))
        depth = position - self.episode_start[envs]
        previous = self.action[envs, (position - 1) % self.rows_per_env]
        self.frame_action[envs, slot] = np.where(depth > 0, previous, -1)
        self.frame_depth[envs, slot] = np.minimum(depth, self.stacking.frames - 1)

    def observations_at(self, env: np.ndarray, position: np.ndarray) -> np.ndarray:
        """(..., D) the observations of rows at absolute ``position`` of rings ``env`` (arrays of one shape, or
        broadcastable); with frame stacking each stack is rebuilt from its frames."""
        env, position = np.broadcast_arrays(np.asarray(env, np.int64), np.asarray(position, np.int64))
        if self.stacking is None:
            return self.observation[env, position % self.rows_per_env]
        frames, ring = self.stacking.frames, self.frames_per_env
        first = (position - self.frame_depth[env, position % ring])[..., None]  # (..., 1) or S - 1 back
        stack = position[..., None] - (frames - 1) + np.arange(frames)  # (..., S) oldest first
        envs = env[..., None]
        images = self.frame[envs, np.maximum(stack, first) % ring]  # (..., S, F): the first frame repeated before it
        actions = np.where(stack >= first, self.frame_action[envs, stack % ring], -1)
        return self.stacking.build(images, actions)

    def _claim(self, envs: np.ndarray) -> np.ndarray:
        """Advance each env's head by one row; returns the physical slots, cleared of what they held."""
        slot = self.head[envs] % self.rows_per_env
        self.position[envs, slot] = self.head[envs]
        self.episode_end[envs, slot] = -1
        self.head[envs] += 1
        self.rows_added += len(envs)
        return slot

    def _set_priority(self, envs: np.ndarray, slot: np.ndarray, priority: np.ndarray) -> None:
        flat = envs * self.rows_per_env + slot
        was = self.tree.get(flat) > 0
        now = priority > 0
        self.num_samplable += int(now.sum()) - int(was.sum())
        self.tree.update(flat, priority)

    def update_priorities(self, index: np.ndarray, priority: np.ndarray) -> None:
        """New priorities |v - z| + epsilon for sampled rows (raised to alpha here)."""
        scaled = (np.asarray(priority, np.float64) + self.config.priority_epsilon) ** self.config.priority_alpha
        self.max_priority = max(self.max_priority, float(scaled.max()))
        self.tree.update(index, scaled)

    def sample(
        self,
        batch_size: int,
        unroll_steps: int,
        td_steps: int,
        discount: float,
        rng: np.random.Generator,
        value_fn: ValueFn | None = None,
    ) -> TrainingBatch:
        """A prioritised batch of positions with targets for a K-step unroll.

        ``value_fn`` recomputes bootstrap values from the stored observations (Reanalyse of
        values); without it the values stored at acting time are used.
        """
        if self.num_samplable == 0:
            raise ValueError("the replay buffer holds no samplable positions yet")
        index = self._draw(batch_size, rng)  # (B,)
        return self.batch_at(index, unroll_steps, td_steps, discount, rng, value_fn)

    def _draw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Row indices by priority; with ``end_reservoir_share``, that share comes from the reservoir."""
        share = self.config.end_reservoir_share
        if not (share > 0 and self.reservoir_rings):
            return self.tree.sample(batch_size, rng)
        # The reservoir's rings come after the acting rings, so its rows hold the top of the cumulative mass.
        reservoir = np.arange(self.num_envs * self.rows_per_env, self.position.size)
        reservoir_mass = float(self.tree.get(reservoir).sum())
        main_mass = self.tree.total - reservoir_mass
        drawn = round(share * batch_size) if reservoir_mass > 0 else 0
        if main_mass <= 0:
            drawn = batch_size
        return np.concatenate(
            [
                self.tree.sample(batch_size - drawn, rng, 0.0, main_mass),
                self.tree.sample(drawn, rng, main_mass, self.tree.total),
            ]
        )

    def flat_index(self, env: int, position: int) -> int:
        """The flat row index of absolute position ``position`` of environment ``env``."""
        return env * self.rows_per_env + position % self.rows_per_env

    def batch_at(
        self,
        index: np.ndarray,
        unroll_steps: int,
        td_steps: int,
        discount: float,
        rng: np.random.Generator,
        value_fn: ValueFn | None = None,
    ) -> TrainingBatch:
        """Targets for the rows at flat ``index`` (B,); see ``sample``."""
        batch_size = len(index)
        env, slot = np.divmod(index, self.rows_per_env)
        start = self.position[env, slot]  # (B,)
        end = self.episode_end[env, slot]
        running = end < 0
        end = np.where(running, self.head[env] - 1, end)
        steps_to_end = end - start  # (B,)
        end_slot = end % self.rows_per_env
        terminal = ~running & self.terminated[env, end_slot]

        window = start[:, None] + np.arange(unroll_steps + td_steps)  # (B, K+n)
        rows = (env[:, None], window % self.rows_per_env)
        rewards = np.where(window < end[:, None], self.reward[rows], 0.0)

        boot = start[:, None] + bootstrap_offsets(steps_to_end, unroll_steps, td_steps)  # (B, K+1)
        boot_rows = (env[:, None], boot % self.rows_per_env)
        if value_fn is None:
            boot_values = self.value[boot_rows].astype(np.float64)
        else:
            observations = self.observations_at(env[:, None], boot).reshape(-1, self.observation_size)
            boot_values = np.asarray(value_fn(observations), np.float64).reshape(boot.shape)
        target_value, value_mask = n_step_value_targets(
            rewards, boot_values, steps_to_end, terminal, td_steps, discount
        )
        target_reward, reward_mask = reward_targets(rewards, steps_to_end, terminal, unroll_steps)

        unroll = start[:, None] + np.arange(unroll_steps + 1)  # (B, K+1)
        unroll_rows = (env[:, None], unroll % self.rows_per_env)
        inside = unroll <= end[:, None]
        policy_mask = inside & ~self.is_final[unroll_rows]
        target_policy = np.where(policy_mask[..., None], self.policy[unroll_rows], 0.0).astype(np.float32)

        num_actions = self.policy.shape[-1]
        random_actions = rng.integers(0, num_actions, size=(batch_size, unroll_steps))
        acted = unroll[:, :-1] < end[:, None]  # the row at offset k-1 has an action inside the episode
        actions = np.where(acted, self.action[unroll_rows][:, :-1], random_actions)
        next_chance = np.where(acted, self.chance[unroll_rows][:, :-1], -1)

        probabilities = self.tree.get(index) / self.tree.total
        weight = (self.num_samplable * probabilities) ** (-self.config.priority_beta)
        weight = (weight / weight.max()).astype(np.float32)
        return TrainingBatch(
            observation=self.observations_at(env, start),
            actions=actions.astype(np.int64),
            target_value=target_value,
            value_mask=value_mask,
            target_reward=target_reward,
            reward_mask=reward_mask,
            target_policy=target_policy,
            policy_mask=policy_mask,
            next_observations=self.observations_at(env[:, None], unroll[:, 1:]),
            next_observation_mask=inside[:, 1:],
            next_chance=next_chance.astype(np.int64),
            weight=weight,
            index=index,
        )

    def nbytes(self) -> int:
        arrays = [
            *(getattr(self, name) for name in self.observation_fields),
            self.action,
            self.reward,
            self.chance,
            self.policy,
            self.value,
            self.position,
            self.episode_end,
            self.is_final,
            self.terminated,
            self.tree.nodes,
        ]
        return sum(a.nbytes for a in arrays)

    def state_dict(self) -> dict[str, Any]:
        """Everything replay holds, its rings cut to the slots ever written (a checkpoint early in a run is
        small however large the capacity); ``load_state_dict`` reads it into a new buffer of the same shape."""
        written = int(self.head.max())
        state = {}
        for name in (*self.observation_fields, *_STATE_FIELDS):
            array = getattr(self, name)
            state[name] = array[:, :written] if array.ndim > 1 else array
        return state | {
            "tree_nodes": self.tree.nodes,
            "max_priority": self.max_priority,
            "num_samplable": self.num_samplable,
            "rows_added": self.rows_added,
            "ends_kept": self.ends_kept,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in (*self.observation_fields, *_STATE_FIELDS):
            if name == "chance" and name not in state:  # checkpoints from before chance labels: none named
                continue
            if name not in state:
                raise ValueError(f"replay state has no field {name} (saved with other frame stacking?)")
            current = getattr(self, name)
            value = np.asarray(state[name], dtype=current.dtype)
            fits = value.shape == current.shape or (
                value.ndim > 1
                and value.shape[0] == current.shape[0]
                and value.shape[2:] == current.shape[2:]
                and value.shape[1] <= current.shape[1]
            )
            if not fits:
                raise ValueError(f"replay field {name} has shape {value.shape}, expected {current.shape}")
            if value.ndim > 1:
                current[:, : value.shape[1]] = value
            else:
                current[...] = value
        self.tree.nodes[...] = np.asarray(state["tree_nodes"], np.float64)
        self.max_priority = float(state["max_priority"])
        self.num_samplable = int(state["num_samplable"])
        self.rows_added = int(state["rows_added"])
        self.ends_kept = int(state.get("ends_kept", 0))  # checkpoints from before the end reservoir


_STATE_FIELDS = (
    "action",
    "reward",
    "chance",
    "policy",
    "value",
    "position",
    "episode_end",
    "is_final",
    "terminated",
    "head",
    "episode_start",
)
